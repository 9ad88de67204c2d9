"""Thin a long series for a chart without hiding its extremes.

A year of 1-minute steps is about 98,000 points per series, far more than a chart has pixels
and a lot of bytes in a daily HTML report. Each of at most `buckets` consecutive stretches
keeps its first, lowest, highest and last point, in time order (the same point once), so the
thinned line still touches every high and low the full one reaches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["decimate"]


def decimate(ys: Sequence[float] | np.ndarray, buckets: int) -> list[int]:
    """The indexes of the points to keep, ascending; all of them when `ys` has at most
    4 × `buckets` points."""
    values = np.asarray(ys)
    n = len(values)
    if n <= 4 * buckets:
        return list(range(n))
    starts = np.arange(buckets, dtype=np.int64) * n // buckets
    ends = np.append(starts[1:], n)
    sizes = ends - starts
    low = _first(values == np.repeat(np.minimum.reduceat(values, starts), sizes), starts)
    high = _first(values == np.repeat(np.maximum.reduceat(values, starts), sizes), starts)
    return np.unique(np.concatenate((starts, low, high, ends - 1))).tolist()


def _first(hit: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per stretch, the index of its first hit (each stretch has one)."""
    at = np.flatnonzero(hit)
    return at[np.searchsorted(at, starts)]
