"""What a finished backtest or live session hands to the report writer.

A run's per-step figures (the equity curve, each symbol's price at every step) are kept as
columns, 8 bytes per number in `array.array` (standard library: core imports nothing else):
a year of minutes is about 98,000 steps, a few MB as columns against tens of MB as objects, so
memory does not grow with the length of a run by more than that. `EquityCurve` and
`PriceColumn` still read as sequences of points and optional prices; reports take the columns.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import overload

from mismarterad.core.orders import Fill, Order
from mismarterad.core.risk import LossHalt, Refusal

__all__ = ["EquityCurve", "EquityPoint", "GapRecord", "PriceColumn", "RunResult", "SessionQualityRecord",
           "SymbolCloses"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Account value at the end of one 1-minute step (`ts_utc` = the step's end)."""

    ts_utc: datetime
    cash: float
    positions_value: float
    equity: float
    exposed: bool  # any position open during the step


def _us(t: datetime) -> int:
    delta = t - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class _EqualAsSequence:
    """Equal to any sequence of equal elements (a list of points, or of prices, as before columns)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


class EquityCurve(_EqualAsSequence, Sequence[EquityPoint]):
    """Equity points as columns: `ts_us` (int64 UTC microseconds of each step's end), `cash`,
    `positions_value`, `equity` (float64), `exposed` (0/1). Indexing makes an `EquityPoint`."""

    __slots__ = ("ts_us", "cash", "positions_value", "equity", "exposed")

    def __init__(self, points: Iterable[EquityPoint] = ()) -> None:
        self.ts_us, self.exposed = array("q"), array("b")
        self.cash, self.positions_value, self.equity = array("d"), array("d"), array("d")
        for point in points:
            self.append(point)

    def __len__(self) -> int:
        return len(self.ts_us)

    @overload
    def __getitem__(self, i: int) -> EquityPoint: ...

    @overload
    def __getitem__(self, i: slice) -> EquityCurve: ...

    def __getitem__(self, i: int | slice) -> EquityPoint | EquityCurve:
        if isinstance(i, slice):
            out = EquityCurve()
            for name in EquityCurve.__slots__:
                getattr(out, name).extend(getattr(self, name)[i])
            return out
        return EquityPoint(_EPOCH + timedelta(microseconds=self.ts_us[i]), self.cash[i], self.positions_value[i],
                           self.equity[i], bool(self.exposed[i]))

    def __iter__(self) -> Iterator[EquityPoint]:
        for i in range(len(self.ts_us)):
            yield self[i]

    def append(self, point: EquityPoint) -> None:
        self.ts_us.append(_us(point.ts_utc))
        self.cash.append(point.cash)
        self.positions_value.append(point.positions_value)
        self.equity.append(point.equity)
        self.exposed.append(int(point.exposed))

    def set_last(self, point: EquityPoint) -> None:
        """Replace the newest point."""
        self.ts_us[-1], self.cash[-1] = _us(point.ts_utc), point.cash
        self.positions_value[-1], self.equity[-1], self.exposed[-1] = (point.positions_value, point.equity,
                                                                       int(point.exposed))

    def extend_columns(self, ts_us: bytes, cash: bytes, positions_value: bytes, equity: bytes, exposed: bytes) -> None:
        """Append many points given as the machine bytes of each column (int64, float64 x 3, int8)."""
        self.ts_us.frombytes(ts_us)
        self.cash.frombytes(cash)
        self.positions_value.frombytes(positions_value)
        self.equity.frombytes(equity)
        self.exposed.frombytes(exposed)

    def copy(self) -> EquityCurve:
        """A copy of the points complete in every column (a writer may be appending one)."""
        return self[: min(len(getattr(self, name)) for name in EquityCurve.__slots__)]


class PriceColumn(_EqualAsSequence, Sequence[float | None]):
    """One symbol's price at each step as float64 (NaN where no price was known yet: None)."""

    __slots__ = ("values",)

    def __init__(self, prices: Iterable[float | None] = ()) -> None:
        self.values = array("d", (math.nan if p is None else p for p in prices))

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, i: int) -> float | None: ...

    @overload
    def __getitem__(self, i: slice) -> PriceColumn: ...

    def __getitem__(self, i: int | slice) -> float | None | PriceColumn:
        if isinstance(i, slice):
            out = PriceColumn()
            out.values = self.values[i]
            return out
        value = self.values[i]
        return None if value != value else value

    def fit(self, length: int) -> None:
        """Cut to `length` prices, or pad with None to it."""
        del self.values[length:]
        self.values.extend([math.nan] * (length - len(self.values)))

    def append(self, price: float | None) -> None:
        self.values.append(math.nan if price is None else price)

    def extend_bytes(self, values: bytes) -> None:
        """Append float64 prices given as machine bytes (NaN: none)."""
        self.values.frombytes(values)


@dataclass(frozen=True, slots=True)
class SymbolCloses:
    """A symbol's price at the end of each step of the equity curve (index for index): its last
    1-minute close, the price positions were marked at; None before the run knew a price."""

    symbol: str
    closes: Sequence[float | None]  # a PriceColumn from a run, any sequence from elsewhere


@dataclass(frozen=True, slots=True)
class GapRecord:
    start_utc: datetime
    end_utc: datetime  # exclusive
    missing: int


@dataclass(frozen=True, slots=True)
class SessionQualityRecord:
    """One row of the validation CSV: a session and symbol, or a skipped session (symbol "")."""

    day: date
    symbol: str
    bars_by_interval: tuple[tuple[str, int], ...]
    expected_1m: int
    quality_pct: float
    gaps: tuple[GapRecord, ...]
    skipped_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RunResult:
    session_name: str
    mode: str
    first_day: date
    last_day: date
    initial_cash: float
    orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    equity: Sequence[EquityPoint]  # an EquityCurve from a run, any sequence from elsewhere
    quality: tuple[SessionQualityRecord, ...]
    bars_processed: int
    sessions_run: tuple[date, ...]
    sessions_skipped: tuple[tuple[date, str], ...]
    refusals: tuple[Refusal, ...] = ()
    loss_halts: tuple[LossHalt, ...] = ()
    closes: tuple[SymbolCloses, ...] = ()  # by symbol; () where no prices were kept (a rebuilt report)
    carried: tuple[Fill, ...] = ()  # opening lots (core/orders.Fill): shares the day began with or adopted

    def matched_fills(self) -> tuple[Fill, ...]:
        """What trades are matched from: the opening lots, then the fills."""
        return self.carried + self.fills
