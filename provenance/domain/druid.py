"""Druids, the repository's object identifiers: parsing, normalising, flagging test-style ones."""

from __future__ import annotations

import re
from dataclasses import dataclass

from provenance.domain.errors import InvalidDruidError
from provenance.domain.shown import shown

PREFIX = "druid:"
# The real pattern: letters exclude vowels and `l` (reference/sdr-logs.md, "Identifiers").
STRICT = re.compile(r"[b-df-hjkmnp-tv-z]{2}[0-9]{3}[b-df-hjkmnp-tv-z]{2}[0-9]{4}")
# Test fixtures of the source systems use druids like `ab123cd4567`; real logs carry them too.
LOOSE = re.compile(r"[a-z]{2}[0-9]{3}[a-z]{2}[0-9]{4}")
# Finds a druid inside free text (a path, a message), bare or prefixed.
IN_TEXT = re.compile(r"(?<![a-z0-9])(?:druid:)?([a-z]{2}[0-9]{3}[a-z]{2}[0-9]{4})(?![a-z0-9])")


@dataclass(frozen=True, slots=True)
class Druid:
    """A normalised druid (`druid:bc123df4567`); `conforming` is False for test-style ones."""

    value: str
    conforming: bool

    @property
    def bare(self) -> str:
        return self.value[len(PREFIX) :]

    def __str__(self) -> str:
        return self.value


def druid_or_none(text: str) -> Druid | None:
    """`druid:bc123df4567` or `bc123df4567` (any case) as a Druid; None for anything else.

    What parsers call on every line: a failed match is cheaper than an exception.
    """
    candidate = text.strip().lower()
    if candidate.startswith(PREFIX):
        candidate = candidate[len(PREFIX) :]
    if STRICT.fullmatch(candidate):
        return Druid(PREFIX + candidate, conforming=True)
    if LOOSE.fullmatch(candidate):
        return Druid(PREFIX + candidate, conforming=False)
    return None


def parse_druid(text: str) -> Druid:
    """Like `druid_or_none`, but raise InvalidDruidError with a message for people."""
    druid = druid_or_none(text)
    if druid is None:
        raise InvalidDruidError(
            f"not a druid: {shown(text)!r} (expected like druid:bc123df4567 or bc123df4567)"
        )
    return druid


def find_druid(text: str) -> Druid | None:
    """The first druid named in free text (bare or prefixed), or None."""
    match = IN_TEXT.search(text.lower())
    return parse_druid(match.group(1)) if match else None
