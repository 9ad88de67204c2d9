"""The probability engine against published worked examples and independent scipy/numpy computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from support.probability_reference import scipy_deflated_sharpe

from mismarterad.services.probability_engine import (
    _stationary_resample_sums,
    deflated_sharpe,
    deflated_sharpe_ratio,
    edge_estimate,
    expected_max_sharpe,
    p_positive_edge,
    per_period_sharpe,
    wilson_interval,
)

returns_lists = st.lists(st.floats(min_value=-0.05, max_value=0.05, allow_nan=False), min_size=2, max_size=40)


def test_deflated_sharpe_ratio_reproduces_the_papers_worked_example() -> None:
    """Bailey and López de Prado (2014), section 5: SR 2.5 (annualised) over 1,250 days with
    skewness -3 and kurtosis 10, best of 100 trials whose Sharpe ratios vary by 1/2: SR0 = 0.1132
    per day and DSR = 0.9004."""
    days = 250
    assert expected_max_sharpe(100, 0.5 / days) == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe_ratio(2.5 / math.sqrt(days), 1250, -3.0, 10.0, trials=100, trials_sharpe_variance=0.5 / days)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


@pytest.mark.parametrize(("trials", "variance"), [(1, 0.0), (4, 0.01), (100, 0.002), (1000, 0.05)])
def test_deflated_sharpe_matches_an_independent_scipy_computation(trials: int, variance: float) -> None:
    rng = np.random.default_rng(7)
    returns = rng.standard_t(5, size=250) * 0.01 + 0.002
    assert deflated_sharpe(list(returns), trials, variance) == pytest.approx(
        scipy_deflated_sharpe(returns, trials, variance), abs=1e-9)


def test_wilson_interval_reproduces_newcombes_example_and_matches_scipy() -> None:
    """Newcombe (1998), table I: 81 successes of 263 give 0.2553 to 0.3662."""
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    for k, n in [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (29, 62), (500, 1000)]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert wilson_interval(0, 0) is None


def test_p_positive_edge_of_independent_blocks_approaches_the_normal_approximation() -> None:
    """Blocks of one resample days independently: the bootstrap mean is then about normal with
    the returns' mean and standard error (population deviation over sqrt(n))."""
    rng = np.random.default_rng(3)
    returns = rng.normal(0.0004, 0.01, size=400)
    expected = stats.norm.cdf(returns.mean() / (returns.std(ddof=0) / math.sqrt(len(returns))))
    assert p_positive_edge(list(returns), resamples=20_000, mean_block_sessions=1) == pytest.approx(expected, abs=0.015)


def _politis_romano_variance(x: np.ndarray, mean_block: float) -> float:
    """Politis and Romano (1994), lemma 1: the variance of the stationary bootstrap's resample
    mean, (1/n) [C(0) + 2 sum_{i=1}^{n-1} b(i) C(i)], with b(i) = (1 - i/n) q^i + (i/n) q^(n-i),
    q = 1 - 1/L and C(i) the lag-i sample autocovariance (divided by n)."""
    n, q = len(x), 1 - 1 / mean_block
    d = x - x.mean()
    cov = [float(np.dot(d[:n - i], d[i:])) / n for i in range(n)]
    return (cov[0] + 2 * sum(((1 - i / n) * q**i + (i / n) * q ** (n - i)) * cov[i] for i in range(1, n))) / n


@pytest.mark.parametrize("mean_block", [3.0, 5.0])
def test_the_stationary_bootstraps_block_behaviour_matches_the_closed_form_variance(mean_block: float) -> None:
    """Blocks longer than one day: the resample means' variance is the paper's closed form, which
    pins the jump probability 1/L (1/(L+1) is 13% off at L = 3) and the wrap-around at the end
    of the series (a clamp instead is 11% off at L = 5); iid resampling would give a third of it."""
    rng = np.random.default_rng(11)
    shocks = rng.normal(size=60)
    x = np.empty(60)
    x[0] = shocks[0]
    for t in range(1, 60):  # AR(1): days depend on the day before
        x[t] = 0.7 * x[t - 1] + shocks[t]
    means = _stationary_resample_sums(x, 200_000, mean_block, seed=0) / len(x)
    assert means.var() == pytest.approx(_politis_romano_variance(x, mean_block), rel=0.02)


def test_p_positive_edge_is_seeded_and_needs_two_returns() -> None:
    returns = [0.01, -0.02, 0.005, 0.0, 0.012, -0.004]
    assert p_positive_edge(returns, seed=5) == p_positive_edge(returns, seed=5)
    assert p_positive_edge([0.01, 0.02]) == 1.0 and p_positive_edge([-0.01, -0.02]) == 0.0
    assert p_positive_edge([0.01]) is None and p_positive_edge([]) is None


def test_sharpe_and_dsr_have_no_value_for_a_flat_series() -> None:
    assert per_period_sharpe([0.01, 0.01, 0.01]) is None
    assert deflated_sharpe([0.0, 0.0]) is None and deflated_sharpe([0.01]) is None


def test_edge_estimate_gathers_the_figures_of_an_outcome_history() -> None:
    edge = edge_estimate([10.0, -5.0, 7.0, 3.0])
    assert (edge.observations, edge.mean, edge.win_rate) == (4, 3.75, 0.75)
    assert (edge.win_rate_low, edge.win_rate_high) == wilson_interval(3, 4)
    assert edge.p_positive_edge == p_positive_edge([10.0, -5.0, 7.0, 3.0])
    assert edge_estimate([]).mean is None and edge_estimate([]).p_positive_edge is None


@settings(max_examples=40, deadline=None)
@given(returns_lists, st.integers(min_value=0, max_value=2**32 - 1))
def test_p_positive_edge_is_a_probability(returns: list[float], seed: int) -> None:
    p = p_positive_edge(returns, resamples=300, seed=seed)
    assert p is not None and 0.0 <= p <= 1.0


@settings(max_examples=40, deadline=None)
@given(returns_lists, st.floats(min_value=1e-9, max_value=0.05), st.integers(min_value=0, max_value=1000))
def test_adding_a_positive_return_never_lowers_p_positive_edge(returns: list[float], shift: float, seed: int) -> None:
    before = p_positive_edge(returns, resamples=300, seed=seed)
    after = p_positive_edge([r + shift for r in returns], resamples=300, seed=seed)
    assert before is not None and after is not None and after >= before


@settings(max_examples=60, deadline=None)
@given(returns_lists, st.integers(min_value=1, max_value=10_000), st.floats(min_value=0.0, max_value=1.0))
def test_deflated_sharpe_is_a_probability_and_more_trials_never_raise_it(returns: list[float], trials: int,
                                                                          variance: float) -> None:
    one = deflated_sharpe(returns, trials, variance)
    more = deflated_sharpe(returns, trials + 1, variance)
    if one is not None and more is not None:
        assert 0.0 <= more <= one <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_lies_in_0_1_around_the_observed_share(case: tuple[int, int]) -> None:
    k, n = case
    interval = wilson_interval(k, n)
    assert interval is not None
    low, high = interval
    assert 0.0 <= low <= k / n + 1e-12 and k / n - 1e-12 <= high <= 1.0
