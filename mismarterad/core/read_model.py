"""The running pipeline's read model: what views, metrics, sd_notify and progress bars see.

The threads own their state and never share it: each one *publishes* a frozen part here as it
works (the AnalysisEngine its trading figures after every item it handles, the
DataQualityManager its quality figures, every thread its heartbeat), and readers take
`snapshot()`, a frozen value that no later step changes. A reader therefore never touches a
running object's fields, never needs that object's lock, and cannot slow the trading path.

Publishing is a reference swap (atomic under the GIL); heartbeats are plain float stores.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import AccountSnapshot, Fill, Order, Position
from mismarterad.core.reconciliation import ReconciliationStatus
from mismarterad.core.risk import LossHalt

__all__ = [
    "PipelineSnapshot",
    "PositionMismatch",
    "QualitySnapshot",
    "ReadModel",
    "StrategyPosition",
    "ThreadSnapshot",
    "TradingSnapshot",
]


@dataclass(frozen=True, slots=True)
class ThreadSnapshot:
    name: str
    alive: bool
    last_beat_monotonic: float | None  # when the thread last showed progress
    queue_depth: int
    items_processed: int
    extra: tuple[tuple[str, object], ...] = ()

    def silent_secs(self, now_monotonic: float) -> float | None:
        return None if self.last_beat_monotonic is None else now_monotonic - self.last_beat_monotonic


@dataclass(frozen=True, slots=True)
class StrategyPosition:
    strategy: str
    symbol: str
    quantity: int


@dataclass(frozen=True, slots=True)
class PositionMismatch:
    """The strategies' positions in a symbol do not add up to the broker's net position."""

    symbol: str
    strategies_total: int
    broker_quantity: int


@dataclass(frozen=True, slots=True)
class TradingSnapshot:
    """Published by the AnalysisEngine after each item it handles (one step live, a batch in a
    backtest). `orders` and `fills` are the run's history, kept only where a reader lists them
    (a daemon's day); a backtest publishes counters and open orders only, since copying a
    year's history at every batch would cost more than the backtest's own trading."""

    session_date: date | None = None
    sessions_done: int = 0
    bars_processed: int = 0
    bars_by_series: tuple[tuple[tuple[str, str], int], ...] = ()  # (symbol, interval) -> bars handed over
    last_bars: tuple[Bar, ...] = ()  # the newest bar of each (symbol, interval), sorted
    last_bar_end_utc: datetime | None = None
    account: AccountSnapshot | None = None
    broker_positions: tuple[Position, ...] = ()
    strategy_positions: tuple[StrategyPosition, ...] = ()
    position_mismatches: tuple[PositionMismatch, ...] = ()
    open_orders: tuple[Order, ...] = ()
    orders: tuple[Order, ...] = ()
    fills: tuple[Fill, ...] = ()
    carried: tuple[Fill, ...] = ()  # opening lots (core/orders.Fill), kept with the history
    halted: bool = False
    broker_connected: bool = True
    disabled_strategies: tuple[str, ...] = ()
    refusals_by_check: tuple[tuple[str, int], ...] = ()  # RiskCheck value -> orders refused this run
    loss_halt: LossHalt | None = None  # the daily loss limit was passed this session
    loss_halts: int = 0  # daily-loss halts of this run (a backtest can have one per session)
    reconciliation: ReconciliationStatus | None = None  # a daemon's day-run: its checks with the broker

    def matched_fills(self) -> tuple[Fill, ...]:
        """What trades are matched from: the opening lots, then the fills."""
        return self.carried + self.fills

    def last_closes(self) -> dict[str, float]:
        """Each symbol's latest price: the close of its bar that ended last (the finest interval's
        when several end together; a daily bar only for a symbol with no intraday bar)."""
        newest: dict[str, tuple[tuple[int, datetime, int], float]] = {}
        for bar in self.last_bars:
            interval = parse_interval(bar.interval)
            rank = (0, bar.start_utc, 0) if interval.daily else (1, bar.start_utc + interval.length, -interval.minutes)
            if bar.symbol not in newest or rank > newest[bar.symbol][0]:
                newest[bar.symbol] = (rank, bar.close)
        return {symbol: close for symbol, (_, close) in sorted(newest.items())}


@dataclass(frozen=True, slots=True)
class QualitySnapshot:
    """Published by the DataQualityManager after each batch: quality so far and gap runs."""

    quality_pct: tuple[tuple[str, float], ...] = ()
    gaps: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class PipelineSnapshot:
    trading: TradingSnapshot
    quality: QualitySnapshot
    threads: tuple[ThreadSnapshot, ...]


@dataclass
class _ThreadSlot:
    """Written only by its own thread; read (never locked) by `snapshot()`."""

    queue_depth: Callable[[], int]
    alive: bool = False
    last_beat: float | None = None
    items: int = 0
    extra: tuple[tuple[str, object], ...] = ()


@dataclass
class ReadModel:
    """The board the four threads publish to; one per pipeline."""

    _trading: TradingSnapshot = field(default_factory=TradingSnapshot)
    _quality: QualitySnapshot = field(default_factory=QualitySnapshot)
    _threads: dict[str, _ThreadSlot] = field(default_factory=dict)
    _register_lock: threading.Lock = field(default_factory=threading.Lock)

    # -- writers ---------------------------------------------------------------------------

    def register_thread(self, name: str, queue_depth: Callable[[], int] = lambda: 0) -> None:
        """Called by the composition root before the threads start (fixes the order shown)."""
        with self._register_lock:
            self._threads[name] = _ThreadSlot(queue_depth)

    def thread_started(self, name: str) -> None:
        slot = self._threads[name]
        slot.alive = True
        slot.last_beat = time.monotonic()

    def thread_stopped(self, name: str) -> None:
        self._threads[name].alive = False

    def beat(self, name: str, items_processed: int | None = None) -> None:
        slot = self._threads[name]
        slot.last_beat = time.monotonic()
        if items_processed is not None:
            slot.items = items_processed

    def thread_extra(self, name: str, **extra: object) -> None:
        self._threads[name].extra = tuple(sorted(extra.items()))

    def publish_trading(self, snapshot: TradingSnapshot) -> None:
        self._trading = snapshot

    def publish_quality(self, snapshot: QualitySnapshot) -> None:
        self._quality = snapshot

    # -- readers ---------------------------------------------------------------------------

    @property
    def trading(self) -> TradingSnapshot:
        return self._trading

    def snapshot(self) -> PipelineSnapshot:
        threads = tuple(
            ThreadSnapshot(name, slot.alive, slot.last_beat, slot.queue_depth(), slot.items, slot.extra)
            for name, slot in list(self._threads.items())
        )
        return PipelineSnapshot(self._trading, self._quality, threads)
