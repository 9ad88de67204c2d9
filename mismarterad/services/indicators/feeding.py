"""Feeding an incremental indicator one value at a time, for the part of a kernel that has no faster form."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

__all__ = ["feed_until"]


def feed_until(update: Callable[..., float | None], values: Sequence[object], ready: Callable[[], bool],
               ) -> tuple[list[float], int]:
    """Call `update(v)` for each of `values` (a tuple is spread into arguments) until `ready()`
    holds: the results, None as NaN, and how many values were fed."""
    out: list[float] = []
    i = 0
    while i < len(values) and not ready():
        value = values[i]
        result = update(*value) if isinstance(value, tuple) else update(value)
        out.append(math.nan if result is None else result)
        i += 1
    return out, i
