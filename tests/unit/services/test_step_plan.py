"""The block kernels of the engine against the step-by-step loops they replace."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.services.derived_bars import DerivedBars
from mismarterad.services.step_plan import MINUTE, Subscription, call_plan, carried, mark_values


@st.composite
def holdings(draw: st.DrawFn) -> tuple:
    steps = draw(st.integers(1, 40))
    symbols = draw(st.integers(1, 5))
    prices = np.array([[draw(st.integers(1, 50_000)) / 100 for _ in range(symbols)] for _ in range(steps)])
    change_rows = sorted(draw(st.sets(st.integers(0, steps - 1), max_size=6)))
    quantities = [[draw(st.integers(-300, 300)) * draw(st.sampled_from([0, 1])) for _ in range(symbols)]
                  for _ in range(len(change_rows) + 1)]
    return steps, np.array([-1, *change_rows]), np.array(quantities, dtype=np.int64), prices


@settings(max_examples=200, deadline=None)
@given(case=holdings())
def test_mark_values_equal_the_brokers_sum_at_every_step(case) -> None:  # type: ignore[no-untyped-def]
    steps, change_rows, quantities, prices = case
    got = mark_values(steps, change_rows, quantities, prices)
    for row in range(steps):
        held = quantities[int(np.searchsorted(change_rows, row, side="right")) - 1]
        value = 0.0
        for j, q in enumerate(held.tolist()):
            if q:
                value += q * float(prices[row, j])
        assert got[row].hex() == value.hex()


@settings(max_examples=100, deadline=None)
@given(data=st.data(), steps=st.integers(1, 30), columns=st.integers(1, 4))
def test_carried_is_the_last_present_value_or_the_one_before(data, steps: int, columns: int) -> None:  # type: ignore[no-untyped-def]
    present = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=columns, max_size=columns),
                                          min_size=steps, max_size=steps)))
    values = np.where(present, np.arange(steps * columns).reshape(steps, columns) + 0.5, np.nan)
    before = np.array([data.draw(st.sampled_from([math.nan, 7.0])) for _ in range(columns)])
    got = carried(values, present, before)
    for j in range(columns):
        last = before[j]
        for row in range(steps):
            if present[row, j]:
                last = values[row, j]
            assert (math.isnan(got[row, j]) and math.isnan(last)) or got[row, j] == last


def test_calls_come_by_step_minute_bars_first_then_derived_then_strategy_order() -> None:
    present = np.array([[True, True], [False, True], [True, False]])
    i = np.array([0, 1, 2], dtype=np.int64)
    derived = DerivedBars(("5m",), np.array([1, 1, 2]), np.array([0, 1, 0]), np.zeros(3, np.int64), i,
                          np.ones(3), np.ones(3), np.ones(3), np.ones(3), i)
    plan = call_plan(present, derived, [Subscription(1, MINUTE, 1), Subscription(0, MINUTE, 0),
                                        Subscription(0, 0, 2), Subscription(1, MINUTE, 0),
                                        Subscription(1, 0, 1, only=np.array([0]))])
    calls = list(zip(plan.row.tolist(), plan.kind.tolist(), plan.bar.tolist(), plan.strategy.tolist(), strict=True))
    assert calls == [(0, 0, 0, 0), (0, 0, 1, 0), (0, 0, 1, 1), (1, 0, 1, 0), (1, 0, 1, 1), (1, 1, 0, 2), (1, 1, 1, 1),
                     (2, 0, 0, 0), (2, 1, 2, 2)]
