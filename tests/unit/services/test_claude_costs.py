"""The cost of a call and the budget rule: properties over any token counts, prices and spend."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from mismarterad.services.claude_costs import CHARS_PER_TOKEN, Budgets, budget_refusal, call_cost, worst_case_cost

tokens = st.integers(min_value=0, max_value=10_000_000)
prices = st.floats(min_value=0, max_value=1000, allow_nan=False)
money = st.floats(min_value=0, max_value=10_000, allow_nan=False)


def test_the_cost_of_a_call_is_its_tokens_at_the_price_per_million() -> None:
    assert call_cost(1_000_000, 0, 3.0, 15.0) == 3.0
    assert call_cost(2000, 500, 3.0, 15.0) == (2000 * 3 + 500 * 15) / 1e6
    assert worst_case_cost(3 * CHARS_PER_TOKEN * 1000, 1500, 3.0, 15.0) == call_cost(3000, 1500, 3.0, 15.0)


@given(tokens, tokens, tokens, prices, prices)
def test_cost_is_additive_in_tokens_and_never_negative(a: int, b: int, out: int, p_in: float, p_out: float) -> None:
    assert call_cost(a, out, p_in, p_out) >= 0
    assert math.isclose(call_cost(a + b, out, p_in, p_out),
                        call_cost(a, out, p_in, p_out) + call_cost(b, 0, p_in, p_out), rel_tol=1e-9, abs_tol=1e-12)


@given(st.integers(min_value=0, max_value=10_000_000), st.integers(min_value=1, max_value=64_000), prices, prices)
def test_the_worst_case_is_never_below_what_the_call_can_cost(chars: int, max_tokens: int, p_in: float,
                                                             p_out: float) -> None:
    # an answer has at most max_tokens, and no request has more tokens than a third of its characters
    real = call_cost(chars // CHARS_PER_TOKEN, max_tokens, p_in, p_out)
    assert worst_case_cost(chars, max_tokens, p_in, p_out) >= real


@given(money, money, money, money, money)
def test_a_call_is_allowed_exactly_when_both_budgets_have_room_for_its_worst_case(
        today: float, month: float, worst: float, daily: float, monthly: float) -> None:
    refusal = budget_refusal(today, month, worst, Budgets(daily, monthly))
    allowed = daily > 0 and monthly > 0 and today + worst <= daily and month + worst <= monthly
    assert (refusal is None) == allowed
    if refusal is not None:
        assert "budget" in refusal


def test_a_zero_budget_refuses_even_a_free_call() -> None:
    assert budget_refusal(0, 0, 0, Budgets(0, 5)) == "the daily budget is 0: no calls are made"
    assert budget_refusal(0, 0, 0, Budgets(5, 0)) == "the monthly budget is 0: no calls are made"
    assert budget_refusal(0.5, 3, 0.2, Budgets(1, 20)) is None
