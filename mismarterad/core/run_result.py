"""What a finished backtest or live session hands to the report writer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from mismarterad.core.orders import Fill, Order
from mismarterad.core.risk import LossHalt, Refusal

__all__ = ["EquityPoint", "GapRecord", "RunResult", "SessionQualityRecord", "SymbolCloses"]


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Account value at the end of one 1-minute step (`ts_utc` = the step's end)."""

    ts_utc: datetime
    cash: float
    positions_value: float
    equity: float
    exposed: bool  # any position open during the step


@dataclass(frozen=True, slots=True)
class SymbolCloses:
    """A symbol's price at the end of each step of the equity curve (index for index): its last
    1-minute close, the price positions were marked at; None before the run knew a price."""

    symbol: str
    closes: tuple[float | None, ...]


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
    equity: tuple[EquityPoint, ...]
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
