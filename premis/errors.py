"""The library's errors: one root, messages that say what to do next."""

from __future__ import annotations


class PremisError(Exception):
    """Root of every error this library raises."""


class PremisModelError(PremisError, ValueError):
    """A value the PREMIS model refuses: an empty identifier, a naive datetime, an event without
    an agent, an unknown vocabulary code, an agent link no agent record resolves."""


class PremisSchemaError(PremisError):
    """The official PREMIS XSD cannot be obtained, is not cached, or is not the expected file."""


class PremisValidationError(PremisError):
    """A document the PREMIS 3 XSD rejects (or that is not well-formed XML).

    `details` lists every error found, each as "line N: message" ("line ?" when libxml2 cannot
    say where).
    """

    def __init__(self, details: list[str]) -> None:
        self.details = list(details)
        count = len(self.details)
        first = self.details[0] if self.details else "no details"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"not a valid PREMIS 3 document: {first}{more}")
