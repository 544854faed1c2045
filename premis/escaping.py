r"""The rule for text that XML 1.0 cannot carry.

Log text reaches PREMIS records verbatim, and logs contain control characters and undecodable
bytes (decoded with `surrogateescape` they become lone surrogates U+DC80..U+DCFF). XML 1.0 has
no way to write these code points, not even as character references, and lxml refuses them.
Dropping them would silently change the record, so each one is written *visibly* instead:

    a forbidden code point c becomes the six characters "\u" + four lowercase hex digits
    (U+0001 -> `\u0001`; the byte 0xE9 decoded with surrogateescape, U+DCE9 -> `\udce9`).

Forbidden: U+0000-U+0008, U+000B, U+000C, U+000E-U+001F, U+D800-U+DFFF, U+FFFE, U+FFFF.
Tab, line feed and carriage return are legal and kept (the serializer writes CR as `&#13;`).
Backslashes already in the text are left alone, so the escape is for readers, not reversible.

Imports nothing (stdlib only).
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def xml_safe(text: str) -> str:
    r"""`text` with every code point XML 1.0 forbids replaced by its `\uXXXX` spelling.

    Returns `text` itself when there is nothing to replace (the common case costs one search).
    """
    if _FORBIDDEN.search(text) is None:
        return text
    return _FORBIDDEN.sub(_visible, text)
