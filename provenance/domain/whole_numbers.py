"""What counts as a whole number where a person or a client writes one: ASCII digits, nothing else.

`int()` reads more than people mean: a sign (`+5`), underscores (`1_0`), blanks, and the digits
of every script (`٥`, Arabic-Indic five), and it spends quadratic time on a long run of digits.
So the CLI's number types (`provenance.cli.params`) and the query API's parameters
(`provenance.query.http_api`) read a count with `read_whole_number` and accept and refuse the same
texts; only their messages differ, each naming what its user typed (`--limit`, `limit`).

Standard library only: the API Lambda reads its parameters without click.
"""

from __future__ import annotations


def is_whole_number(text: str) -> bool:
    """Whether `text` is written with the ASCII digits 0-9 alone (at least one)."""
    return text.isascii() and text.isdigit()


def read_whole_number(text: str, low: int, high: int) -> int | None:
    """`text` as a number from `low` to `high` when it is a whole number (`is_whole_number`);
    None otherwise, at a cost bounded by the digits of `high` however long `text` is."""
    if not is_whole_number(text):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(high)):
        return None
    number = int(digits)
    return number if low <= number <= high else None
