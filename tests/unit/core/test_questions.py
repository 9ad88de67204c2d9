"""An operator's question: any text typed gets a verdict, never an exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mismarterad.core.questions import MAX_QUESTION_CHARS, bad_question


@given(st.text(max_size=3000))
def test_any_text_is_judged_and_what_passes_is_printable_and_short(text: str) -> None:
    problem = bad_question(text)
    if problem is None:
        assert text.strip() and len(text) <= MAX_QUESTION_CHARS
        assert all(ch == "\n" or ch.isprintable() or ch.isspace() for ch in text)


def test_the_verdicts() -> None:
    assert bad_question("why did TSLA lose money today?") is None
    assert bad_question("two\nlines") is None
    assert bad_question("  ") == "the question is empty"
    assert bad_question("x" * 2001) == "the question is 2001 characters long; at most 2000"
    assert bad_question("bell\x07") == "the question may not contain control characters"
