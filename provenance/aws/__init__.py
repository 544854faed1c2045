"""The operator's AWS tools: `prov ship` (files, reader, record packing, sending, state), `prov
redrive` (and the failure messages it reads), `prov cost`, the signed API client, the pseudonym
key secret and the deployment's ingest options (one function for the ingest Lambda and
redrive). The only place in provenance that speaks AWS, through `eventstore.aws_client`."""
