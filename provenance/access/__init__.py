"""Who queries which services: the access policy (agent rules, pseudonym keys, retention), the
access report and its chart."""
