"""How a message shows a value someone gave: whole when short, else cut to its start.

A value that cannot be used is named in its error (`--limit '12x'`, `after='…'`) so the person
sees which one; but a value may be any length (a 3,000-character query parameter, a pasted
file), and an error is one line. Every message that quotes such a value cuts it here; so do the
terminal's table cells (`provenance.cli.render.shorten`). Making control characters visible is
`provenance.domain.terminal`'s, done where text reaches a terminal.
"""

from __future__ import annotations

SHOWN_CHARS = 24
"""How much of a value a message shows: enough to recognise it, a fraction of the line."""


def shown(text: str, width: int = SHOWN_CHARS) -> str:
    """`text`, or its first `width - 1` characters and "…" when it is longer than `width`."""
    return text if len(text) <= width else text[: width - 1] + "…"
