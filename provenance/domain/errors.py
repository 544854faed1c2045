"""The application's errors: one root, messages that say what to do next.

The CLI turns these into one line on stderr and an exit code; nothing else prints them.
"""

from __future__ import annotations


class ProvenanceError(Exception):
    """Root of the application's errors (exit code 1 in the CLI)."""


class InvalidDruidError(ProvenanceError):
    """A string that is not a druid, in any accepted form."""


class UnknownSourceError(ProvenanceError):
    """A `--source` name no parser answers to."""


class NotFoundError(ProvenanceError):
    """Something asked for is not in the store (exit code 2 in the CLI)."""
