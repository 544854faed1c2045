"""What reaches a terminal: the one rule that makes control characters visible.

Logs carry attacker-chosen text (request paths, user agents, referers, file names), and a
terminal obeys the control characters in what it is given: clear the screen, recolour, retitle
the window, overprint a line (`\\r`), or reorder what is shown (the Unicode bidirectional
controls of "Trojan Source"). So every string `prov` prints for a person goes through
`visible`, which writes each such character as a Python-style escape (`\\x1b`, `\\n`, `\\u202e`):

- the C0 controls U+0000-U+001F (a newline inside a table cell must not start a fake row),
  DEL U+007F and the C1 controls U+0080-U+009F (some terminals take U+009B as CSI);
- the bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069;
- lone surrogates U+D800-U+DFFF (JSON can carry them; no terminal encoding can). Those that
  stand for an undecodable byte (U+DC80-U+DCFF, as `surrogateescape` decodes it) are written as
  that byte, `\\xff`, the spelling events and PREMIS use (`premis.escaping.visible_code_point`).

Backslashes are left alone, so `visible` is idempotent (its output has nothing left to escape)
and a table can escape its cells for alignment and its lines as a whole without doubling.
Text that is already safe, lines joined by a table's own newlines, is a `TerminalText`.
`--format json` stays exact: `json_text` writes the same characters as `\\uXXXX` escapes, which
is the same JSON value. CSV is written as is.

It needs only `premis.escaping` and the standard library: `provenance.aws.cost` and the CLI's
error path use it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from premis.escaping import DISGUISED, visible_code_point

_SURROGATES = range(0xD800, 0xE000)
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}

# DISGUISED: DEL, the C1 controls and the bidirectional controls.
INVISIBLE: frozenset[int] = frozenset((*range(0x00, 0x20), *DISGUISED, *_SURROGATES))
"""The code points `visible` escapes (see the module docstring)."""


def _escape(code: int) -> str:
    if code in _NAMED:
        return _NAMED[code]
    if code in _SURROGATES:
        return visible_code_point(code)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_VISIBLE = {code: _escape(code) for code in INVISIBLE}
# JSON escapes C0 itself; the rest of INVISIBLE becomes \uXXXX (only string contents can hold
# such characters, so replacing them anywhere in a document keeps its value).
_JSON = {code: f"\\u{code:04x}" for code in INVISIBLE if code >= 0x20}


class TerminalText(str):
    """Text already made safe for a terminal: lines of `visible` text joined by newlines."""

    __slots__ = ()


def visible(text: str) -> str:
    """`text` with every control character written as a Python-style escape (one line)."""
    return text.translate(_VISIBLE)


def terminal_lines(lines: Iterable[str]) -> TerminalText:
    """Lines made `visible` one by one and joined by newlines: only a table's own line breaks
    stay real."""
    return TerminalText("\n".join(visible(line) for line in lines))


def json_text(
    document: Any, *, indent: int | None = 2, separators: tuple[str, str] | None = None
) -> str:
    """`document` as JSON for a terminal: the same value as `json.dumps` gives, with no control
    character left raw."""
    text = json.dumps(
        document, indent=indent, separators=separators, ensure_ascii=False, default=str
    )
    # Most reports are ASCII with no DEL (json.dumps escapes C0 itself): nothing to translate.
    return text if text.isascii() and "\x7f" not in text else text.translate(_JSON)
