"""`sma_cross`: long-only simple-moving-average crossover.

The SMA of the last N closes of `interval` bars continues across days (history loaded before
the session counts). A cross-up at bar t is fast−slow > 0 at t and ≤ 0 at t−1, both defined; a
cross-down is < 0 at t and ≥ 0 at t−1. The sign is judged exactly: closes become Decimals from
their shortest repr (the data's own digits) and `fast_sum·slow` is compared with
`slow_sum·fast`, so equal SMAs give 0, never a rounding artefact. Prices with at most six
decimals (all real quotes) are summed as integers in millionths, which is the same exact
arithmetic without the cost of Decimal. On a cross-up while flat it
buys `quantity` at market; on a cross-down while long it sells the position at market. Signals
on the session's last bar are ignored; the engine flattens at the session's last close.

In a backtest the crosses of a whole session are found at once over the closes as integer
columns (`column_signals`, strategies/column_signals.py): the same exact sums, so the same
signs; the engine calls `on_signal` at the crosses only. Prices with more than six decimals,
or sums too large for 64-bit integers, take `on_bar` as before.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mismarterad.core.intervals import parse_intraday_interval
from mismarterad.core.market_data import Bar
from mismarterad.strategies.base import Strategy

__all__ = ["SmaCross"]


_SCALE = 1_000_000
_EXACT = 2**53  # integer-valued floats below this are exact
_SAFE = 2**62  # int64 products and sums stay below this

def exact_millionths(price: float) -> int | Decimal:
    """The price's own decimal digits times 10**6: an int when it has at most six decimals."""
    scaled = round(price * _SCALE)
    if scaled / _SCALE == price:  # int / int is correctly rounded, so this is the same decimal
        return scaled
    return Decimal(repr(price)) * _SCALE


class _Window:
    """Exact rolling sum of the last `size` values."""

    __slots__ = ("size", "values", "total")

    def __init__(self, size: int) -> None:
        self.size = size
        self.values: deque[int | Decimal] = deque()
        self.total: int | Decimal = 0

    def push(self, value: int | Decimal) -> None:
        self.values.append(value)
        self.total += value
        if len(self.values) > self.size:
            self.total -= self.values.popleft()

    def refill(self, values: list[int]) -> None:
        """The window after pushing a run of values whose last `size` are these."""
        self.values = deque(values[-self.size :])
        self.total = sum(self.values)

    @property
    def full(self) -> bool:
        return len(self.values) == self.size


class _CrossState:
    """Fast and slow windows of one symbol, and the sign of fast−slow at the previous bar."""

    __slots__ = ("fast", "slow", "previous_sign")

    def __init__(self, fast: int, slow: int) -> None:
        self.fast, self.slow = _Window(fast), _Window(slow)
        self.previous_sign: int | None = None

    def push(self, close: float) -> int | None:
        """Add a close; return the sign of fast−slow now (None until both SMAs are defined)."""
        value = exact_millionths(close)
        self.fast.push(value)
        self.slow.push(value)
        if not self.slow.full:
            return None
        # fast_sum/fast − slow_sum/slow has the sign of fast_sum·slow − slow_sum·fast
        diff = self.fast.total * self.slow.size - self.slow.total * self.fast.size
        return (diff > 0) - (diff < 0)

    def crosses(self, closes: np.ndarray) -> np.ndarray | None:
        """Push many closes at once: per close +1 (a cross-up), -1 (a cross-down) or 0, as `push`
        would judge each; None (nothing pushed) unless every value is an exact integer of
        millionths and every sum fits in 64-bit integers."""
        if not all(type(v) is int for v in self.slow.values):
            return None
        scaled = np.round(closes * _SCALE)
        if len(scaled) and (np.abs(scaled).max() >= _EXACT or not np.array_equal(scaled / _SCALE, closes)):
            return None
        carried = list(self.slow.values)
        values = np.concatenate((np.array(carried, dtype=np.int64), scaled.astype(np.int64)))
        fast, slow = self.fast.size, self.slow.size
        if len(values) and int(np.abs(values).max()) * len(values) * slow * 2 >= _SAFE:
            return None
        sums = np.concatenate(([0], np.cumsum(values)))
        ends = np.arange(len(carried) + 1, len(values) + 1)  # each new value's window end
        full = ends >= slow
        fast_sum = sums[ends] - sums[np.maximum(ends - fast, 0)]
        slow_sum = sums[ends] - sums[np.maximum(ends - slow, 0)]
        diff = fast_sum * slow - slow_sum * fast
        sign = np.where(full, np.sign(diff), 2)  # 2: not defined yet
        before = np.concatenate(([2 if self.previous_sign is None else self.previous_sign], sign[:-1]))
        defined = (sign != 2) & (before != 2)
        cross = np.where(defined & (sign > 0) & (before <= 0), 1, np.where(defined & (sign < 0) & (before >= 0), -1, 0))
        tail = values.tolist()
        self.fast.refill(tail)
        self.slow.refill(tail)
        if len(sign):
            self.previous_sign = None if sign[-1] == 2 else int(sign[-1])
        return cross


class SmaCross(Strategy):
    """Long-only SMA crossover on `interval` bars: buy `quantity` on a cross-up of the fast SMA
    over the slow one while flat, sell the position on a cross-down."""

    name = "sma_cross"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        fast: int = Field(default=10, ge=1, le=100_000, description="bars in the fast SMA, 1 to 100,000")
        slow: int = Field(default=30, ge=2, le=100_000, description="bars in the slow SMA, 2 to 100,000")
        quantity: int = Field(default=100, ge=1, le=1_000_000_000, description="shares per entry, 1 to 10^9")
        interval: str = Field(default="1m", description="the bars the SMAs are of: 1m, 5m, any Nm or Nh")

        @field_validator("interval")
        @classmethod
        def _interval(cls, value: str) -> str:
            return parse_intraday_interval(value).name

        @model_validator(mode="after")
        def _fast_below_slow(self) -> SmaCross.Params:
            if self.fast >= self.slow:
                raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
            return self

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.intervals = (self.params.interval,)
        self._state: dict[str, _CrossState] = {}
        self._signals: dict[str, deque[int]] = {}  # per symbol, the crosses still to act on

    def on_session_start(self) -> None:
        p = self.params
        for symbol in self.symbols:
            state = _CrossState(p.fast, p.slow)
            for bar in self.bars(symbol, p.interval, p.slow):
                state.previous_sign = state.push(bar.close)
            self._state[symbol] = state

    def on_bar(self, symbol: str, interval: str, bar: Bar) -> None:
        state = self._state[symbol]
        sign = state.push(bar.close)
        previous, state.previous_sign = state.previous_sign, sign
        if sign is None or previous is None or self.is_last_bar(bar):
            return
        self._act(symbol, 1 if sign > 0 and previous <= 0 else -1 if sign < 0 and previous >= 0 else 0)

    def column_signals(self, symbol: str, interval: str, closes: np.ndarray, last_bar: np.ndarray) -> np.ndarray | None:
        if type(self).on_bar is not SmaCross.on_bar:  # a subclass deciding otherwise: its own on_bar
            return None
        crosses = self._state[symbol].crosses(closes)
        if crosses is None:
            return None
        at = np.flatnonzero((crosses != 0) & ~last_bar)
        self._signals[symbol] = deque(crosses[at].tolist())
        return at

    def on_signal(self, symbol: str, interval: str, bar: Bar) -> None:
        self._act(symbol, self._signals[symbol].popleft())

    def _act(self, symbol: str, cross: int) -> None:
        held = self.position(symbol)
        if cross > 0 and held == 0:
            self.buy(symbol, self.params.quantity)
        elif cross < 0 and held > 0:
            self.sell(symbol, held)
