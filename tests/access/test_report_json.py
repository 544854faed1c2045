"""The report's JSON writer gives `json_text`'s characters (`json.dumps(indent=2)`) exactly."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from provenance.access.report_json import rows_json
from provenance.domain.terminal import INVISIBLE, json_text

# Text as logs give it: anything, with the characters JSON and `json_text` escape made likely
# (quotes, backslashes, newlines, controls, bidirectional controls, lone surrogates) and the
# compact encoder's own separators, which must not be taken for the space between rows.
awkward = st.sampled_from(
    ['"', "\\", "\n", "},\n    {", ", ", ": ", "\u202e", "\x85", "\ud800", "é", "{", "}"]
)
text = st.lists(
    st.one_of(st.text(max_size=6), awkward, st.sampled_from(sorted(map(chr, INVISIBLE))))
).map("".join)
values = st.one_of(text, st.integers(min_value=-(2**70), max_value=2**70))
rows = st.lists(st.dictionaries(text, values, min_size=1, max_size=6), max_size=12)


@given(rows)
def test_report_rows_are_written_as_json_text_writes_them(
    report_rows: list[dict[str, Any]],
) -> None:
    assert rows_json(report_rows) == json_text(report_rows)


others = st.one_of(
    st.lists(st.dictionaries(text, st.one_of(st.none(), st.booleans(), st.floats()), min_size=1)),
    st.lists(st.dictionaries(text, st.lists(st.integers()), min_size=1)),
    st.lists(st.dictionaries(text, st.dictionaries(text, st.integers()), min_size=1)),
    st.lists(st.dictionaries(text, st.integers(), max_size=0)),
    st.lists(st.lists(st.integers())),
    st.dictionaries(text, st.integers()),
)


@given(others)
def test_anything_else_is_written_by_json_text(document: Any) -> None:
    assert rows_json(document) == json_text(document)


def test_a_report_with_buckets_is_written_with_two_spaces_per_level() -> None:
    report_rows = [
        {
            "agent": "crawler:Googlebot",
            "bucket": "2026-03-01T00:00:00-08:00",
            "requests": 3,
            "bytes": 10,
        },
        {"agent": "user:argo", "bucket": "2026-03-01T00:00:00-08:00", "requests": 1, "bytes": 0},
    ]

    assert rows_json(report_rows) == json.dumps(report_rows, indent=2)
    assert rows_json([]) == "[]"
