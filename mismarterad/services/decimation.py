"""Thin a long series for a chart without hiding its extremes.

A year of 1-minute steps is about 98,000 points per series, far more than a chart has pixels
and a lot of bytes in a daily HTML report. Each of at most `buckets` consecutive stretches
keeps its first, lowest, highest and last point, in time order (the same point once), so the
thinned line still touches every high and low the full one reaches.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["decimate"]


def decimate(ys: Sequence[float], buckets: int) -> list[int]:
    """The indexes of the points to keep, ascending; all of them when `ys` has at most
    4 × `buckets` points."""
    n = len(ys)
    if n <= 4 * buckets:
        return list(range(n))
    keep: list[int] = []
    for b in range(buckets):
        lo, hi = n * b // buckets, n * (b + 1) // buckets
        stretch = range(lo, hi)
        low = min(stretch, key=lambda i: (ys[i], i))
        high = max(stretch, key=lambda i: (ys[i], -i))
        keep.extend(sorted({lo, low, high, hi - 1}))
    return keep
