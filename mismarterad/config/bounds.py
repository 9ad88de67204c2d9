"""The one place config numbers are bounded: every number a config holds is finite and within
the documented limits below (README "Settings", each field's description).

`FiniteFloat` refuses NaN and ±infinity (JSON `NaN`, `Infinity`, `1e400`); fields add their
own `ge`/`le` from the constants here. Free-form values (strategy `params`) are walked by
`check_finite_json` so no non-finite float reaches a strategy either.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import Field

__all__ = [
    "FiniteFloat",
    "MAX_BACKTEST_DAYS",
    "MAX_CASH",
    "MAX_COMMISSION_PER_ORDER",
    "MAX_COMMISSION_PER_SHARE",
    "MAX_PERIOD_DAYS",
    "MAX_PREFETCH_DAYS",
    "MAX_RETRIES",
    "MAX_RETRY_INTERVAL_SECS",
    "MAX_SLIPPAGE_BPS",
    "MAX_SPEED",
    "MAX_TRAILING_DAYS",
    "check_finite_json",
]

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]

MAX_CASH = 1e12                 # dollars: initial_cash, daily_loss_limit
MAX_BACKTEST_DAYS = 10_000      # trading days (about 40 years)
MAX_TRAILING_DAYS = 3_650       # trading sessions of history loaded before a session
MAX_PERIOD_DAYS = 3_650         # trading days of a historical indicator's period
MAX_PREFETCH_DAYS = 30          # sessions read ahead
MAX_SPEED = 100_000.0           # speed_multiplier (0 = as fast as possible)
MAX_COMMISSION_PER_SHARE = 100.0
MAX_COMMISSION_PER_ORDER = 10_000.0
MAX_SLIPPAGE_BPS = 10_000.0     # 100 %
MAX_RETRIES = 100
MAX_RETRY_INTERVAL_SECS = 3_600.0


def check_finite_json(value: Any) -> Any:
    """Raise ValueError naming the first non-finite float inside a decoded JSON value.

    Iterative (a deeply nested value cannot exhaust the stack)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            where = f" at {path}" if path else ""
            raise ValueError(f"must hold finite numbers only, got {item!r}{where}")
        if isinstance(item, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
    return value
