"""sma_cross's signal path finds exactly the crosses its `on_bar` acts on, block after block,
and hands back to `on_bar` (None) where the integer sums cannot be exact."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.strategies.builtin.sma_cross import _CrossState

CENTS = st.integers(1, 500_000).map(lambda c: c / 100)
ODD = st.floats(0.01, 5_000, allow_nan=False, allow_infinity=False)  # digits past the millionths: Decimal


def _on_bar_codes(state: _CrossState, closes: list[float]) -> list[int]:
    codes = []
    for close in closes:
        sign = state.push(close)
        previous, state.previous_sign = state.previous_sign, sign
        if sign is None or previous is None:
            codes.append(0)
        else:
            codes.append(1 if sign > 0 and previous <= 0 else -1 if sign < 0 and previous >= 0 else 0)
    return codes


@settings(max_examples=200, deadline=None)
@given(data=st.data(), fast=st.integers(1, 6), extra=st.integers(1, 12), seeded=st.integers(0, 20),
       odd=st.booleans())
def test_crosses_equal_on_bar_whatever_the_blocks(data, fast: int, extra: int, seeded: int, odd: bool) -> None:  # type: ignore[no-untyped-def]
    slow = fast + extra
    prices = st.one_of(CENTS, ODD) if odd else CENTS
    history = data.draw(st.lists(prices, min_size=seeded, max_size=seeded))
    blocks = data.draw(st.lists(st.lists(prices, max_size=40), max_size=5))
    reference, columns = _CrossState(fast, slow), _CrossState(fast, slow)
    for close in history:  # on_session_start's seeding
        reference.previous_sign = reference.push(close)
        columns.previous_sign = columns.push(close)
    for block in blocks:
        expected = _on_bar_codes(reference, block)
        got = columns.crosses(np.array(block, dtype=np.float64))
        if got is None:  # the engine calls on_bar for this block
            assert _on_bar_codes(columns, block) == expected
        else:
            assert got.tolist() == expected
        assert columns.previous_sign == reference.previous_sign
        assert list(columns.slow.values) == list(reference.slow.values)
        assert columns.fast.total == reference.fast.total and columns.slow.total == reference.slow.total


def test_prices_past_the_millionths_take_on_bar() -> None:
    state = _CrossState(2, 3)
    assert state.crosses(np.array([1.0, 2.0, 1.2345678])) is None
    assert list(state.slow.values) == []  # nothing pushed
