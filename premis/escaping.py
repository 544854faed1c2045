r"""The rule for text that XML 1.0 cannot carry, and for undecodable bytes anywhere.

Log text reaches PREMIS records verbatim, and logs contain control characters and undecodable
bytes (decoded with `surrogateescape` they become lone surrogates U+DC80..U+DCFF). XML 1.0 has
no way to write these code points, not even as character references, and lxml refuses them.
Dropping them would silently change the record, so each one is written *visibly* instead:

    an undecodable byte (U+DC80..U+DCFF, as surrogateescape decodes it) becomes the four
    characters "\x" + its two lowercase hex digits (the byte 0xE9, U+DCE9 -> `\xe9`);
    any other forbidden code point c becomes the six characters "\u" + four lowercase hex
    digits (U+0001 -> `\u0001`, a lone U+D800 -> `\ud800`).

Forbidden: U+0000-U+0008, U+000B, U+000C, U+000E-U+001F, U+D800-U+DFFF, U+FFFE, U+FFFF.
Tab, line feed and carriage return are legal and kept (the serializer writes CR as `&#13;`).
Backslashes already in the text are left alone, so the escape is for readers, not reversible.

`visible_surrogates` applies the same spelling to lone surrogates only: what no UTF-8 text can
hold (event payloads, file names), while control characters stay as they are. `visible_code_point`
is the spelling of one code point, for whoever else shows such characters (a terminal).

Some code points XML can carry are still not text a reader sees: DEL, the C1 controls (some
terminals take U+009B as CSI) and the bidirectional controls (they reorder what is shown, the
"Trojan Source" trick). These are `DISGUISED`: kept, as they are part of the record, but each
serializer writes them as an escape of the same value (XML `&#x9B;`, Turtle `\u009B`, JSON
`\u009b`), so the document means exactly what it meant and shows them on any screen.
`split_disguised` and `escape_disguised` are the serializers' tools.
"""

from __future__ import annotations

import re
from collections.abc import Callable

FORBIDDEN_RANGES = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
"""The code points XML 1.0 forbids, as the body of a regular expression character class (for a
serializer that looks for them together with characters of its own in one search)."""
_FORBIDDEN = re.compile(f"[{FORBIDDEN_RANGES}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# surrogateescape decodes the byte b (0x80..0xFF) that is not UTF-8 as U+DC00 + b.
_ESCAPED_BYTES = range(0xDC80, 0xDD00)

BIDI_CONTROLS: frozenset[int] = frozenset(
    (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
"""The Unicode bidirectional controls (ALM, LRM, RLM, LRE..RLO, LRI..PDI)."""
DISGUISED: frozenset[int] = frozenset((0x7F, *range(0x80, 0xA0), *BIDI_CONTROLS))
"""Code points XML allows that are no visible text: DEL, C1 controls, bidi controls."""
_DISGUISED = re.compile(f"([{''.join(map(chr, sorted(DISGUISED)))}])")


def visible_code_point(code: int) -> str:
    r"""The visible spelling of one code point: `\xNN` for an undecodable byte (U+DC80..U+DCFF
    as surrogateescape decodes it), `\uXXXX` (lowercase hex) for any other."""
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def _visible(match: re.Match[str]) -> str:
    return visible_code_point(ord(match.group()))


def xml_safe(text: str) -> str:
    r"""`text` with every code point XML 1.0 forbids replaced by its visible spelling
    (`\xNN` for an undecodable byte, `\uXXXX` for the rest).

    Returns `text` itself when there is nothing to replace (the common case costs one search).
    """
    if _FORBIDDEN.search(text) is None:
        return text
    return _FORBIDDEN.sub(_visible, text)


def visible_surrogates(text: str) -> str:
    r"""`text` with every lone surrogate (an undecodable byte, as `surrogateescape` decodes
    it) replaced by its visible spelling, as `xml_safe` spells it: valid UTF-8 text.

    Returns `text` itself when there is nothing to replace.
    """
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(_visible, text)


def split_disguised(text: str) -> list[str] | None:
    """`text` cut around its `DISGUISED` characters: plain runs at even indexes, one such
    character at each odd index; None when there is none (the common case: one search)."""
    if _DISGUISED.search(text) is None:
        return None
    return _DISGUISED.split(text)


def escape_disguised(text: str, spelling: Callable[[int], str]) -> str:
    """`text` with each `DISGUISED` character replaced by `spelling(code point)`, a serializer's
    escape of the same value; `text` itself when there is none."""
    parts = split_disguised(text)
    if parts is None:
        return text
    parts[1::2] = [spelling(ord(char)) for char in parts[1::2]]
    return "".join(parts)
