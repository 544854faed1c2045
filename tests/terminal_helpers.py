"""Hostile text for the terminal tests, and what may not reach a terminal raw (issue 11, item 4).

The set is written out here from the issue, not taken from `provenance.domain.terminal`, so a rule
that forgot a character fails the tests.
"""

from __future__ import annotations

# Clear the screen, set the window title (OSC 0 ... BEL), red text, CSI as the one C1 byte
# U+009B, right-to-left override, DEL: no whitespace, so it fits inside a log line's token.
HOSTILE_TOKEN = "\x1b[2J\x1b]0;pwned\x07\x1b[31m\x9b31m\u202e\x7f"
# The same with a carriage return (overprinting) and a newline (a fake row), for JSON strings
# and quoted fields.
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x1b[31m\r\x9b31m\u202e\x7f\n"
# What the hostile text looks like once made visible.
HOSTILE_TOKEN_SHOWN = r"\x1b[2J\x1b]0;pwned\x07\x1b[31m\x9b31m\u202e\x7f"
HOSTILE_SHOWN = r"\x1b[2J\x1b]0;pwned\x07\x1b[31m\r\x9b31m\u202e\x7f\n"

FORBIDDEN = frozenset(
    [
        *map(chr, range(0x00, 0x20)),  # C0
        "\x7f",  # DEL
        *map(chr, range(0x80, 0xA0)),  # C1
        *"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",  # bidi
    ]
)


def raw_controls(text: str) -> list[str]:
    """The control characters in `text` other than the line breaks between lines."""
    return [char for char in text if char in FORBIDDEN and char != "\n"]
