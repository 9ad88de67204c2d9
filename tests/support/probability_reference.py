"""The deflated Sharpe ratio computed independently with scipy (its moment estimators and normal
quantiles), for tests of the probability engine and of the sweep's rows."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def scipy_deflated_sharpe(returns: np.ndarray, trials: int, variance: float) -> float:
    sr = returns.mean() / returns.std(ddof=1)
    sr0 = 0.0 if trials == 1 else math.sqrt(variance) * (
        (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / trials) + EULER_GAMMA * stats.norm.ppf(1 - 1 / (trials * math.e)))
    skew, kurt = stats.skew(returns), stats.kurtosis(returns, fisher=False)
    z = (sr - sr0) * math.sqrt(len(returns) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))
