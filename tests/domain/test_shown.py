"""`provenance.domain.shown`: how a message shows a value someone gave."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from provenance.domain.shown import SHOWN_CHARS, shown


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_a_value_is_shown_whole_or_by_its_start_within_the_width(text: str, width: int) -> None:
    cut = shown(text, width)

    assert len(cut) <= width
    if len(text) <= width:
        assert cut == text
    else:
        assert cut == text[: width - 1] + "…"


def test_the_default_width_is_the_messages() -> None:
    assert shown("x" * SHOWN_CHARS) == "x" * SHOWN_CHARS
    assert shown("x" * 3_000) == "x" * (SHOWN_CHARS - 1) + "…"
