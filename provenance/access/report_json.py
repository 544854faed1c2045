"""The access report's rows as `--format json` prints them, written fast.

`json_text(rows)` (`json.dumps` with `indent=2`) takes the pure-Python encoder: with an indent,
the standard library does not use its C encoder, and a report of a hundred thousand rows spends
a third of its time there. A report's rows have a known shape, a list of flat objects (names to
strings and numbers), so the C encoder can write them with separators that already hold the
indentation of the values, and only the brackets around each row are placed by hand: the same
characters, `json_text`'s escapes included. Anything of another shape is left to `json_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provenance.domain.terminal import json_text

# Between two values of one row: the comma and the next line's indent (indent=2, depth 2).
_ITEM = ",\n    "
# Between two rows, as the compact encoder writes it and as indent=2 does.
_BETWEEN = "}" + _ITEM + "{"
_BETWEEN_INDENTED = "\n  },\n  {\n    "
_FLAT = frozenset({str, int})


def rows_json(rows: Sequence[Any]) -> str:
    """`json_text(rows)`, character for character, for a list of rows."""
    if not _flat(rows):
        return json_text(rows)
    text = json_text(rows, indent=None, separators=(_ITEM, ": "))
    # A raw newline is never inside a JSON string (it is written `\n`), and a value is never an
    # object, so `},\n    {` is only ever found between two rows.
    body = text[2:-2].replace(_BETWEEN, _BETWEEN_INDENTED)
    return f"[\n  {{\n    {body}\n  }}\n]"


def _flat(rows: Sequence[Any]) -> bool:
    """A non-empty list of non-empty objects holding strings and whole numbers only."""
    return (
        type(rows) is list
        and bool(rows)
        and {type(row) for row in rows} == {dict}
        and all(rows)
        and {type(value) for row in rows for value in row.values()} <= _FLAT
    )
