"""Walk-forward windows: a test window never overlaps its own train window, and rolls by its length."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismarterad.services.walk_forward import parse_walk_forward, walk_forward_windows

START = date(2011, 1, 3)


def _days(n: int) -> list[date]:
    return [START + timedelta(days=i) for i in range(n)]


@given(st.integers(0, 120), st.integers(1, 40), st.integers(1, 20))
def test_test_windows_follow_their_train_windows_and_never_overlap(n: int, train: int, test: int) -> None:
    days = _days(n)
    windows = walk_forward_windows(days, train, test)
    assert len(windows) == (0 if n < train + test else (n - train - test) // test + 1)
    measured: set[date] = set()
    for i, w in enumerate(windows):
        assert w.index == i and len(w.train) == train and len(w.test) == test
        assert not set(w.train) & set(w.test)
        assert max(w.train) < min(w.test)
        assert days.index(w.test[0]) == days.index(w.train[-1]) + 1  # the very next session
        assert not measured & set(w.test)  # each session measured out of sample at most once
        measured |= set(w.test)
        if i:
            assert days.index(w.train[0]) == days.index(windows[i - 1].train[0]) + test


def test_sixty_twenty_over_a_hundred_sessions_gives_two_windows() -> None:
    days = _days(100)
    [first, second] = walk_forward_windows(days, 60, 20)
    assert (first.train[0], first.test[0], first.test[-1]) == (days[0], days[60], days[79])
    assert (second.train[0], second.test[0], second.test[-1]) == (days[20], days[80], days[99])


@pytest.mark.parametrize("text", ["60", "60:", ":20", "a:b", "60:0", "0:20", "60:20:5", "-1:3"])
def test_a_bad_walk_forward_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="TRAIN:TEST|at least 1"):
        parse_walk_forward(text)


def test_a_good_walk_forward_parses() -> None:
    assert parse_walk_forward("60:20") == (60, 20)
