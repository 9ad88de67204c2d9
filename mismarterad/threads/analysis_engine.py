"""AnalysisEngine: runs the strategies on each step and turns their intents into orders.

For every 1-minute step, in time order: the broker sees the step's bars first (so fills at a
bar's open are in the positions before any strategy sees that bar), then each subscribed
strategy gets the 1-minute bars, then the derived bars completed at this step. Everything a
strategy reads is "as of" the step: SessionData items visible from later steps stay hidden,
even though the DataProcessor may already have stored them. At the session's end the
strategies are told, positions are flattened at the last close and open orders canceled.
"""

from __future__ import annotations

import queue
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mismarterad.core.calendar import TradingSession
from mismarterad.core.errors import StrategyError
from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Side
from mismarterad.core.pipeline import SessionEnd, SessionStart, StepBatch
from mismarterad.core.read_model import ReadModel, StrategyPosition, TradingSnapshot
from mismarterad.core.session_data import SessionData
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.services.gap_detection import expected_starts
from mismarterad.strategies.base import Strategy
from mismarterad.strategies.spec import StrategySpec
from mismarterad.threads.worker import PipelineFailure, Worker

__all__ = ["AnalysisEngine"]

ONE_MINUTE = timedelta(minutes=1)
_BASE = parse_interval("1m")


class AnalysisEngine(Worker):
    def __init__(
        self,
        inbox: queue.Queue[Any],
        failure: PipelineFailure,
        execution: ExecutionManager,
        strategies: Sequence[StrategySpec],
        timezone: ZoneInfo,
        board: ReadModel,
        stop_on_strategy_error: bool = True,
        publish_history: bool = False,
    ) -> None:
        super().__init__("AnalysisEngine", inbox, failure, board)
        self.execution = execution
        self._publish_history = publish_history
        self._tz = timezone
        self._stop_on_error = stop_on_strategy_error
        self.strategies: list[Strategy] = [
            spec.cls(spec.strategy_id, spec.symbols, spec.params, _Context(self, spec)) for spec in strategies
        ]
        self._subscribers: dict[tuple[str, str], list[Strategy]] = {}
        for strategy in self.strategies:
            for symbol in strategy.symbols:
                for interval in strategy.intervals:
                    self._subscribers.setdefault((symbol, interval), []).append(strategy)
        self._disabled: set[str] = set()
        self.session: TradingSession | None = None
        self.data: SessionData | None = None
        self.as_of: datetime = datetime.min
        self.step_end: datetime = datetime.min
        self._expected: list[datetime] = []
        self._last_starts: dict[str, datetime] = {}
        self.bars_processed = 0
        self.sessions_run: list[date] = []
        self.sessions_skipped: list[tuple[date, str]] = []
        self.last_bar_end: datetime | None = None
        self.bars_by_series: dict[tuple[str, str], int] = {}  # (symbol, interval) -> bars handed over
        self._last_bars: dict[tuple[str, str], Bar] = {}
        self.observe_decision: Callable[[float], None] | None = None  # live: release-to-decision secs
        self._in_session = False

    def handle(self, item: object) -> None:
        if isinstance(item, StepBatch):
            stop = self.failure.stop_event
            for step in item.steps:
                if stop.is_set():
                    return  # stopping: the rest of the batch is dropped, as the stop asked
                self.beat()
                self._step(step.start_utc, step.bars, step.derived, step.catch_up)
                if step.released_monotonic and self.observe_decision is not None:
                    self.observe_decision(time.monotonic() - step.released_monotonic)
        elif isinstance(item, SessionStart):
            self._start(item)
        elif isinstance(item, SessionEnd):
            self._end(item)
        else:
            raise TypeError(f"AnalysisEngine got an unexpected message {item!r}")
        self._publish()

    def _publish(self) -> None:
        """Publish the trading figures to the read model (this thread, after each item)."""
        execution = self.execution
        self.board.publish_trading(TradingSnapshot(
            session_date=self.session.day if self.session else None,
            sessions_done=len(self.sessions_run) + len(self.sessions_skipped),
            bars_processed=self.bars_processed,
            bars_by_series=tuple(sorted(self.bars_by_series.items())),
            last_bars=tuple(bar for _, bar in sorted(self._last_bars.items())),
            last_bar_end_utc=self.last_bar_end,
            account=execution.account(),
            broker_positions=tuple(execution.broker_positions()),
            strategy_positions=tuple(StrategyPosition(strategy, symbol, quantity)
                                     for (strategy, symbol), quantity in execution.strategy_positions().items()),
            position_mismatches=tuple(execution.position_mismatches()),
            open_orders=tuple(execution.open_orders()),
            orders=tuple(execution.orders()) if self._publish_history else (),
            fills=tuple(execution.fills()) if self._publish_history else (),
            halted=execution.halted,
            broker_connected=execution.broker_connected,
            disabled_strategies=tuple(sorted(self._disabled)),
            refusals_by_check=tuple(execution.refusal_counts().items()),
            loss_halt=execution.loss_halt,
            loss_halts=len(execution.loss_halts()),
            reconciliation=execution.reconciliation_status(),
        ))

    def _start(self, message: SessionStart) -> None:
        self.session, self.data = message.session, message.session_data
        assert message.session.regular_open is not None
        # before the first bar, strategies see history only
        self.as_of = self.step_end = message.session.regular_open - timedelta(microseconds=1)
        self._expected = expected_starts(message.session, _BASE)
        self._last_starts = {}
        self._in_session = False
        self.execution.begin_session(message.session.day, message.session.regular_close,
                                     sorted({symbol for symbol, _interval in self._subscribers}))
        for symbol in sorted({symbol for symbol, _interval in self._subscribers}):
            # the newest loaded history prices an order sent before the symbol's first bar
            for interval in ("1m", "1d"):
                history = message.session_data.bars_as_of(symbol, interval, self.as_of, 1)
                if history:
                    self.execution.seed_price(symbol, history[-1].close)
                    break

    def _begin_strategies(self) -> None:
        self._in_session = True
        for strategy in self.strategies:
            self._call(strategy, "on_session_start", None)

    def _step(self, start: datetime, bars: Sequence[Bar], derived: Sequence[Bar], catch_up: bool = False) -> None:
        if not self._in_session:
            self._begin_strategies()
        self.as_of, self.step_end = start, start + ONE_MINUTE
        self.execution.start_step(self.step_end, catch_up=catch_up)
        for bar in bars:
            self.execution.on_bar(bar)
        self.execution.begin_step(self.step_end, catch_up=catch_up)
        counts, newest = self.bars_by_series, self._last_bars
        for group in (bars, derived):
            for bar in group:
                key = (bar.symbol, bar.interval)
                counts[key] = counts.get(key, 0) + 1
                newest[key] = bar
                for strategy in self._subscribers.get(key, ()):
                    self._call(strategy, "on_bar", bar)
        if bars:
            self.bars_processed += len(bars)
            self.last_bar_end = self.step_end
            self.execution.mark(self.step_end)

    def _end(self, end: SessionEnd) -> None:
        day = end.session.day
        if end.skipped_reason is not None:
            self.sessions_skipped.append((day, end.skipped_reason))
            return
        if not self._in_session:
            self._begin_strategies()
        for strategy in self.strategies:
            self._call(strategy, "on_session_end", None)
        self.execution.close_session(self.step_end)
        self.execution.mark(self.step_end)
        self.sessions_run.append(day)

    def _call(self, strategy: Strategy, hook: str, bar: Bar | None) -> None:
        """Run one hook, then tell the strategy of the orders it had refused, after the hook
        returns. Orders it sends from `on_order_refused` are checked like any other, but their
        refusals are not told again: a strategy that reorders on every refusal cannot feed itself."""
        if strategy.strategy_id in self._disabled:
            return
        told = None
        try:
            if bar is None:
                getattr(strategy, hook)()
            else:
                strategy.on_bar(bar.symbol, bar.interval, bar)
            for order, reason in self.execution.take_unreported(strategy.strategy_id):
                hook, told = "on_order_refused", order
                strategy.on_order_refused(order, reason)
            self.execution.take_unreported(strategy.strategy_id)  # sent from on_order_refused: not told
        except (Exception, SystemExit) as exc:  # a strategy calling sys.exit() is a broken strategy, not a stop
            where = (f" for {told.client_order_id}" if told is not None
                     else f" on {bar.symbol} {bar.interval} bar {bar.start_utc.astimezone(self._tz).isoformat()}"
                     if bar else "")
            message = f"strategy {strategy.strategy_id} raised in {hook}{where}: {type(exc).__name__}: {exc}"
            if self._stop_on_error:
                raise StrategyError(message) from exc
            self._disabled.add(strategy.strategy_id)
            self.log.error("strategy_disabled", strategy=strategy.strategy_id, error=message)

    def last_bar_start(self, interval: str) -> datetime:
        start = self._last_starts.get(interval)
        if start is None:
            assert self.session is not None and self.session.regular_close is not None
            close = self.session.regular_close
            length = parse_interval(interval)
            start = (close - timedelta(microseconds=1)) if length.daily else close - length.length
            self._last_starts[interval] = start
        return start

    def expected_count_as_of(self) -> int:
        return bisect_right(self._expected, self.as_of)


class _Context:
    """One strategy's read-only window on the session, and its order desk."""

    def __init__(self, engine: AnalysisEngine, spec: StrategySpec) -> None:
        self._engine = engine
        self._id = spec.strategy_id
        self._symbols = frozenset(spec.symbols)

    def now(self) -> datetime:
        return self._engine.step_end.astimezone(self._engine._tz)

    def session(self) -> TradingSession:
        assert self._engine.session is not None
        return self._engine.session

    def last_bar_start(self, interval: str) -> datetime:
        return self._engine.last_bar_start(interval)

    def _data(self) -> SessionData:
        assert self._engine.data is not None
        return self._engine.data

    def bars(self, symbol: str, interval: str, n: int) -> list[Bar]:
        return self._data().bars_as_of(symbol, interval, self._engine.as_of, n)

    def indicator(self, symbol: str, name: str, interval: str) -> float | None:
        return self._data().indicator_as_of(symbol, interval, name, self._engine.as_of)

    def historical_indicator(self, name: str, symbol: str) -> float | None:
        return self._data().historical_indicator(name, symbol)

    def quality(self, symbol: str) -> float | None:
        expected = self._engine.expected_count_as_of()
        if expected == 0:
            return None
        present = self._data().session_count_as_of(symbol, "1m", self._engine.as_of)
        return 100.0 * min(present, expected) / expected

    def position(self, symbol: str) -> int:
        """This strategy's own position: another strategy's shares in the symbol are not its."""
        return self._engine.execution.position(self._id, symbol)

    def submit(self, symbol: str, quantity: int, side: str, limit: float | None, stop: float | None) -> str:
        if symbol not in self._symbols:
            raise StrategyError(f"{self._id} ordered {symbol}, which is not among its symbols {sorted(self._symbols)}")
        order = self._engine.execution.submit(self._id, symbol, Side(side), quantity, limit, stop, self._engine.step_end)
        return order.client_order_id

    def cancel(self, client_order_id: str) -> None:
        owner = self._engine.execution.strategy_of(client_order_id)
        if owner != self._id:
            raise StrategyError(f"{self._id} tried to cancel {client_order_id}, which is "
                                f"{'not an order of this run' if owner is None else f'an order of {owner}'}")
        self._engine.execution.cancel(client_order_id)
