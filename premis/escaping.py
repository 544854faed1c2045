r"""The rule for text that XML 1.0 cannot carry, and for undecodable bytes anywhere.

Log text reaches PREMIS records verbatim, and logs contain control characters and undecodable
bytes (decoded with `surrogateescape` they become lone surrogates U+DC80..U+DCFF). XML 1.0 has
no way to write these code points, not even as character references, and lxml refuses them.
Dropping them would silently change the record, so each one is written *visibly* instead, and
the backslash that starts every such spelling is itself escaped, so the rule is reversible:

    a backslash becomes two backslashes (`\` -> `\\`);
    an undecodable byte (U+DC80..U+DCFF, as surrogateescape decodes it) becomes the four
    characters "\x" + its two lowercase hex digits (the byte 0xE9, U+DCE9 -> `\xe9`);
    any other forbidden code point c becomes the six characters "\u" + four lowercase hex
    digits (U+0001 -> `\u0001`, a lone U+D800 -> `\ud800`);
    everything else is kept as it is.

Forbidden: U+0000-U+0008, U+000B, U+000C, U+000E-U+001F, U+D800-U+DFFF, U+FFFE, U+FFFF.
Tab, line feed and carriage return are legal and kept (the serializer writes CR as `&#13;`).
Without the backslash rule a path holding the six characters `\u0001` and one holding the
control character U+0001 were written alike (one text in XML, one IRI in RDF: two files
merged). With it, every backslash in the written text starts exactly one of the three escapes,
so `unescape` gives back the text that was written, and two different texts never share a
spelling. `xml_safe` is the rule; XML text and RDF literals and minted IRIs go through it.

`visible_surrogates` applies the same spelling to lone surrogates only: what no UTF-8 text can
hold (event payloads, file names), while control characters and backslashes stay as they are.
That spelling is for readers, not reversible (a literal `\xe9` and the byte 0xE9 look alike):
it is how `prov ingest` and `prov ship` store undecodable bytes, and changing a stored spelling
would leave a store holding both (see its docstring). `visible_code_point` is the spelling of
one code point, for whoever else shows such characters (a terminal).

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
ESCAPED_RANGES = f"\\\\{FORBIDDEN_RANGES}"
"""What `xml_safe` rewrites (the backslash and the forbidden code points), as the body of a
regular expression character class, for a serializer's own one-search test."""
_ESCAPED = re.compile(f"[{ESCAPED_RANGES}]")
_FORBIDDEN = re.compile(f"[{FORBIDDEN_RANGES}]")
# What `unescape` reads: a backslash and what follows it; anything but one of the three
# escapes (a lone backslash, `\q`, `\u` with too few digits) leaves the optional group empty.
_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})?")
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


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return "\\\\" if char == "\\" else visible_code_point(ord(char))


def xml_safe(text: str) -> str:
    r"""`text` with every code point XML 1.0 forbids replaced by its visible spelling
    (`\xNN` for an undecodable byte, `\uXXXX` for the rest) and every backslash doubled, so
    that `unescape` gives `text` back (the module docstring has the rule).

    Returns `text` itself when there is nothing to replace (the common case costs one search).
    """
    if _ESCAPED.search(text) is None:
        return text
    return _ESCAPED.sub(_escaped, text)


def _unescaped(match: re.Match[str]) -> str:
    escape = match.group(1)
    if escape == "\\":
        return escape
    if escape is not None:
        code = int(escape[1:], 16)
        if escape[0] == "x":
            code += 0xDC00
        # Only the spelling `xml_safe` gives: `\x` for an undecodable byte, `\u` for any
        # other forbidden code point; `\u0041` or `\x41` would be a second spelling of a text.
        if _FORBIDDEN.fullmatch(chr(code)) and (escape[0] == "x") == (code in _ESCAPED_BYTES):
            return chr(code)
    raise ValueError(
        f"{match.group()!r} at index {match.start()} is not an escape xml_safe writes "
        "(\\\\, \\xNN for a byte 80..ff, \\uXXXX for a forbidden code point, lowercase hex)"
    )


def unescape(text: str) -> str:
    r"""The text `xml_safe` was given, from what it wrote: `\\` -> `\`, `\xNN` -> the
    undecodable byte NN (U+DC00 + NN), `\uXXXX` -> U+XXXX.

    Raises `ValueError` for text `xml_safe` cannot have written: a backslash that starts none
    of its escapes (text written before backslashes were escaped, say), an escape of a code
    point it keeps, or a code point XML forbids left unescaped. So `unescape` is the exact
    inverse: `unescape(xml_safe(s)) == s` for every `s`, and `xml_safe(unescape(t)) == t`
    for every `t` it accepts. Returns `text` itself when it has no backslash.
    """
    if (bare := _FORBIDDEN.search(text)) is not None:
        raise ValueError(
            f"U+{ord(bare.group()):04X} at index {bare.start()} is not written by xml_safe"
        )
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_unescaped, text)


def visible_surrogates(text: str) -> str:
    r"""`text` with every lone surrogate (an undecodable byte, as `surrogateescape` decodes
    it) replaced by its visible spelling, as `xml_safe` spells it: valid UTF-8 text.

    Backslashes are kept, so this is a spelling for readers, not reversible: the byte 0xE9 and
    the four characters `\xe9` both come out `\xe9`. Its callers store or show what it gives
    (event payloads, the `file` a line was read from, names in messages); each says why the
    reversible rule (`xml_safe`) is not theirs. Text it wrote that reaches PREMIS goes through
    `xml_safe` again, so PREMIS gives back exactly what the store holds.

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
