"""Is an edge real? Three answers from a run's daily returns and trades, as pure functions.

- `p_positive_edge`: the share of stationary-bootstrap resamples (Politis and Romano, 1994) of
  the daily returns whose mean is above zero: an estimate of the probability that the mean
  daily return is positive which keeps the returns' short-range dependence (blocks of mean
  length `mean_block_sessions`, a trading week by default). The resample indices come from
  `seed` alone, never from the values, so the answer is reproducible and shifting every return
  up can only raise it.
- `deflated_sharpe_ratio`: the probability that the true Sharpe ratio is above the best one
  expected from `trials` tries of pure luck (Bailey and López de Prado, "The Deflated Sharpe
  Ratio", 2014), corrected for the returns' skewness and kurtosis. With one trial it is the
  probabilistic Sharpe ratio against zero.
- `wilson_interval`: the Wilson score interval of a win rate (Wilson, 1927), which stays inside
  [0, 1] and is honest for few trades, unlike the normal approximation.

Sharpe ratios here are per period (per session), not annualised: the paper's formulas are.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = [
    "DEFAULT_MEAN_BLOCK_SESSIONS",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "EdgeEstimate",
    "deflated_sharpe",
    "deflated_sharpe_ratio",
    "edge_estimate",
    "expected_max_sharpe",
    "p_positive_edge",
    "per_period_sharpe",
    "wilson_interval",
]

DEFAULT_RESAMPLES = 10_000
DEFAULT_MEAN_BLOCK_SESSIONS = 5.0  # a trading week
DEFAULT_SEED = 0
EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class EdgeEstimate:
    """What the engine says about a series of outcomes (a strategy's `self.probability`)."""

    observations: int
    mean: float | None
    p_positive_edge: float | None
    win_rate: float | None
    win_rate_low: float | None
    win_rate_high: float | None


def p_positive_edge(returns: Sequence[float], resamples: int = DEFAULT_RESAMPLES,
                    mean_block_sessions: float = DEFAULT_MEAN_BLOCK_SESSIONS, seed: int = DEFAULT_SEED) -> float | None:
    """The share of stationary-bootstrap resamples whose mean return is above zero; None with
    fewer than two returns (nothing to resample)."""
    n = len(returns)
    if n < 2:
        return None
    if resamples < 1 or mean_block_sessions < 1:
        raise ValueError("resamples and mean_block_sessions must be at least 1")
    values = np.asarray(returns, dtype=float)
    sums = _stationary_resample_sums(values, resamples, min(mean_block_sessions, float(n)), seed)
    return int(np.count_nonzero(sums / n > 0)) / resamples


def _stationary_resample_sums(values: np.ndarray, resamples: int, mean_block: float, seed: int) -> np.ndarray:
    """The sums of `resamples` stationary-bootstrap resamples of `values`: each starts at a
    random index and, at each step, goes on to the next index (wrapping) with probability
    1 - 1/mean_block, else jumps to a random one. Memory grows with `resamples`, not with
    the number of returns."""
    n = len(values)
    rng = np.random.default_rng(seed)
    at = rng.integers(0, n, size=resamples)
    sums = values[at].copy()
    for _ in range(1, n):
        jump = rng.random(resamples) < 1.0 / mean_block
        at = np.where(jump, rng.integers(0, n, size=resamples), (at + 1) % n)
        sums += values[at]
    return sums


def per_period_sharpe(returns: Sequence[float]) -> float | None:
    """Mean over sample standard deviation; None with fewer than two returns or none varying."""
    if len(returns) < 2:
        return None
    sd = statistics.stdev(returns)
    return statistics.mean(returns) / sd if sd > 0 else None


def expected_max_sharpe(trials: int, trials_sharpe_variance: float) -> float:
    """The highest per-period Sharpe ratio expected among `trials` unskilled tries whose Sharpe
    ratios vary by `trials_sharpe_variance` (the paper's SR0); 0 for a single trial."""
    if trials < 1:
        raise ValueError("trials must be at least 1")
    if trials == 1 or trials_sharpe_variance <= 0:
        return 0.0
    return math.sqrt(trials_sharpe_variance) * (
        (1 - EULER_GAMMA) * _NORMAL.inv_cdf(1 - 1 / trials)
        + EULER_GAMMA * _NORMAL.inv_cdf(1 - 1 / (trials * math.e)))


def deflated_sharpe_ratio(sharpe: float, observations: int, skewness: float, kurtosis: float, trials: int = 1,
                          trials_sharpe_variance: float = 0.0) -> float | None:
    """The paper's DSR from moments: `sharpe` per period over `observations` returns of this
    `skewness` and (non-excess) `kurtosis`. None when the variance term is not positive (the
    moments allow no estimate)."""
    if observations < 2:
        return None
    threshold = expected_max_sharpe(trials, trials_sharpe_variance)
    variance_term = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if variance_term <= 0:
        return None
    return _NORMAL.cdf((sharpe - threshold) * math.sqrt(observations - 1) / math.sqrt(variance_term))


def deflated_sharpe(returns: Sequence[float], trials: int = 1, trials_sharpe_variance: float = 0.0) -> float | None:
    """`deflated_sharpe_ratio` of these returns (population skewness and kurtosis, as the paper
    estimates them); None with fewer than two returns or none varying."""
    sharpe = per_period_sharpe(returns)
    if sharpe is None:
        return None
    mean = statistics.fmean(returns)
    second = statistics.fmean([(r - mean) ** 2 for r in returns])
    if second <= 0:  # deviations too small to square (underflow): no moments to correct with
        return None
    scaled = [(r - mean) / math.sqrt(second) for r in returns]  # standardised first: tiny moments underflow
    skewness = statistics.fmean([z**3 for z in scaled])
    kurtosis = statistics.fmean([z**4 for z in scaled])
    return deflated_sharpe_ratio(sharpe, len(returns), skewness, kurtosis, trials, trials_sharpe_variance)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """The Wilson score interval (low, high) of a proportion; None with no trials."""
    if not 0 <= successes <= trials:
        raise ValueError(f"successes {successes} must lie in [0, trials {trials}]")
    if trials == 0:
        return None
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    share = successes / trials
    centre = share + z * z / (2 * trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def edge_estimate(outcomes: Sequence[float], seed: int = DEFAULT_SEED) -> EdgeEstimate:
    """The engine's figures for any series of outcomes (returns or P&L of a signal's past
    occurrences): its mean, `p_positive_edge`, and the share above zero with its Wilson interval."""
    interval = wilson_interval(sum(1 for x in outcomes if x > 0), len(outcomes))
    return EdgeEstimate(
        observations=len(outcomes),
        mean=statistics.fmean(outcomes) if outcomes else None,
        p_positive_edge=p_positive_edge(outcomes, seed=seed),
        win_rate=sum(1 for x in outcomes if x > 0) / len(outcomes) if outcomes else None,
        win_rate_low=None if interval is None else interval[0],
        win_rate_high=None if interval is None else interval[1],
    )
