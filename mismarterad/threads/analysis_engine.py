"""AnalysisEngine: runs the strategies on each step and turns their intents into orders.

For every 1-minute step, in time order: the broker sees the step's bars first (so fills at a
bar's open are in the positions before any strategy sees that bar), each strategy is told its
fills booked so far (`on_fill`, in fill order), then each subscribed strategy gets the 1-minute
bars, then the derived bars completed at this step. Everything a strategy reads is "as of" the
step: SessionData items visible from later steps stay hidden, even though the DataProcessor may
already have stored them. At the session's end the strategies are told, positions are
flattened at the last close, open orders canceled, and the flatten's fills told. `on_start`
comes once, before the first session's set-up.
"""

from __future__ import annotations

import queue
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mismarterad.core.calendar import TradingSession
from mismarterad.core.errors import ConfigError, StrategyError
from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import AccountSnapshot, Fill, Order
from mismarterad.core.read_model import ReadModel, StrategyPosition, TradingSnapshot
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.managers.session_data import SessionData
from mismarterad.services.gap_detection import expected_starts
from mismarterad.strategies.base import Strategy
from mismarterad.strategies.column_signals import ColumnSignals
from mismarterad.strategies.data_requests import IndicatorRequest, collect_requests
from mismarterad.strategies.spec import StrategySpec
from mismarterad.threads.engine_blocks import BlockWalkingMixin
from mismarterad.threads.engine_context import EngineContext
from mismarterad.threads.messages import ProcessedBlock, SessionEnd, SessionStart
from mismarterad.threads.worker import PipelineFailure, Worker

__all__ = ["AnalysisEngine"]

ONE_MINUTE = timedelta(minutes=1)
_BASE = parse_interval("1m")


class AnalysisEngine(BlockWalkingMixin, Worker):
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
        session_symbols: Sequence[str] = (),
    ) -> None:
        """`session_symbols`: every symbol the session loads (strategies may read any of them;
        default: the strategies' own). Raise StrategyError if a strategy's requests are invalid
        (`resolve_strategies` checked them; a strategy that asks otherwise now is broken)."""
        super().__init__("AnalysisEngine", inbox, failure, board)
        self.execution = execution
        self._publish_history = publish_history
        self.timezone = timezone
        self._stop_on_error = stop_on_strategy_error
        readable = frozenset(session_symbols) | {s for spec in strategies for s in spec.symbols}
        self.strategies: list[Strategy] = []
        self._contexts: dict[str, EngineContext] = {}
        self._subscribers: dict[tuple[str, str], list[Strategy]] = {}
        for spec in strategies:
            context = EngineContext(self, spec.strategy_id, spec.symbols, readable)
            strategy = spec.cls(spec.strategy_id, spec.symbols, spec.params, context)
            try:
                context.requests = collect_requests(strategy)
            except ConfigError as exc:  # checked when the config was loaded: the strategy itself changed
                raise StrategyError(f"strategy {spec.strategy_id}: {'; '.join(exc.problems)}") from None
            self.strategies.append(strategy)
            self._contexts[spec.strategy_id] = context
            for symbol in strategy.symbols:
                for interval in context.requests.bar_intervals:
                    self._subscribers.setdefault((symbol, interval), []).append(strategy)
        self._by_id = {strategy.strategy_id: strategy for strategy in self.strategies}
        # those with a vectorised signal path, found once: a Protocol's isinstance costs tens of µs,
        # too much for every block of a live session (one per minute, bar-to-decision)
        self._with_signals = frozenset(id(s) for s in self.strategies if isinstance(s, ColumnSignals))
        self._disabled: set[str] = set()
        self._run_started = False  # on_start called
        self._fills_told = 0  # execution.fills() told to the strategies so far
        self._account: AccountSnapshot | None = None  # as of the step being handled, read when asked
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
        if isinstance(item, ProcessedBlock):
            self._run_block(item)
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
            carried=tuple(execution.carried()) if self._publish_history else (),
            halted=execution.halted,
            broker_connected=execution.broker_connected,
            disabled_strategies=tuple(sorted(self._disabled)),
            refusals_by_check=tuple(execution.refusal_counts().items()),
            loss_halt=execution.loss_halt,
            loss_halts=len(execution.loss_halts()),
            reconciliation=execution.reconciliation_status(),
        ))

    def indicator_requests(self) -> list[IndicatorRequest]:
        """Every strategy's indicators, once each, for the DataProcessor to compute."""
        unique = {(r.interval, r.name): r for c in self._contexts.values() for r in c.requests.indicators}
        return [unique[key] for key in sorted(unique)]

    def intervals_read(self) -> list[str]:
        """Every interval a strategy receives or reads (the DataProcessor derives the intraday ones)."""
        return sorted({i for c in self._contexts.values() for i in c.requests.readable})

    def account_as_of(self) -> AccountSnapshot:
        """The account as of the step being handled (read once per step, when a strategy asks)."""
        if self._account is None:
            self._account = self.execution.account()
        return self._account

    def _start(self, message: SessionStart) -> None:
        if not self._run_started:
            self._run_started = True
            for strategy in self.strategies:
                self._call(strategy, "on_start", None)
        self.session, self.data = message.session, message.session_data
        self._account = None
        assert message.session.regular_open is not None
        # before the first bar, strategies see history only
        self.as_of = self.step_end = message.session.regular_open - timedelta(microseconds=1)
        self._expected = expected_starts(message.session, _BASE)
        self._last_starts = {}
        self._in_session = False
        self.execution.begin_session(message.session.day, message.session.regular_close,
                                     sorted({symbol for symbol, _interval in self._subscribers}),
                                     open_utc=message.session.regular_open)
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

    def _end(self, end: SessionEnd) -> None:
        day = end.session.day
        if end.skipped_reason is not None:
            self.sessions_skipped.append((day, end.skipped_reason))
            return
        if not self._in_session:
            self._begin_strategies()
        self._tell_fills()
        for strategy in self.strategies:
            self._call(strategy, "on_session_end", None)
        self.execution.close_session(self.step_end)
        self.execution.mark(self.step_end)
        self._account = None
        self._tell_fills()
        self.sessions_run.append(day)

    def _tell_fills(self) -> None:
        """Call `on_fill` for every fill booked since the last call, in fill order, each to the
        strategy whose order it filled (an account-level fill, such as a stranger's, to none)."""
        fills = self.execution.fills_since(self._fills_told)
        if not fills:
            return
        self._fills_told += len(fills)
        self._account = None  # cash and equity moved
        for fill in fills:
            strategy = self._by_id.get(fill.strategy)
            if strategy is not None:
                self._call(strategy, "on_fill", fill)

    def _call(self, strategy: Strategy, hook: str, item: Bar | Fill | None, *, signal: bool = False) -> None:
        """Run one hook, then tell the strategy of the orders it had refused, after the hook
        returns. Orders it sends from `on_order_refused` are checked like any other, but their
        refusals are not told again: a strategy that reorders on every refusal cannot feed itself.
        A read the strategy was refused fails it even if the hook caught the StrategyError.
        `signal`: the bar is one of a signal path's (strategies/column_signals.py): `on_signal`
        acts for `on_bar` there."""
        if strategy.strategy_id in self._disabled:
            return
        told: Order | None = None
        context = self._contexts[strategy.strategy_id]
        try:
            if isinstance(item, Bar):
                act = strategy.on_signal if signal else strategy.on_bar  # type: ignore[attr-defined]
                act(item.symbol, item.interval, item)
            elif item is None:
                getattr(strategy, hook)()
            else:
                strategy.on_fill(item)
            context.raise_misuse()
            for order, reason in self.execution.take_unreported(strategy.strategy_id):
                hook, told = "on_order_refused", order
                strategy.on_order_refused(order, reason)
            self.execution.take_unreported(strategy.strategy_id)  # sent from on_order_refused: not told
            context.raise_misuse()
        except (Exception, SystemExit) as exc:  # a strategy calling sys.exit() is a broken strategy, not a stop
            context.forget_misuse()
            message = (f"strategy {strategy.strategy_id} raised in {hook}{self._where(item, told)}: "
                       f"{type(exc).__name__}: {exc}")
            if self._stop_on_error:
                raise StrategyError(message) from exc
            self._disabled.add(strategy.strategy_id)
            self.log.error("strategy_disabled", strategy=strategy.strategy_id, hook=hook, error=message,
                           consequence="no more calls to it this day-run; its open orders stay working and the "
                                       "close flattens its positions")

    def _where(self, item: Bar | Fill | None, told: Order | None) -> str:
        if told is not None:
            return f" for {told.client_order_id}"
        if isinstance(item, Bar):
            return f" on {item.symbol} {item.interval} bar {item.start_utc.astimezone(self.timezone).isoformat()}"
        if isinstance(item, Fill):
            return f" for the fill of {item.client_order_id} at {item.ts_utc.astimezone(self.timezone).isoformat()}"
        return ""

    def last_bar_start(self, interval: str) -> datetime:
        start = self._last_starts.get(interval)
        if start is None:
            assert self.session is not None and self.session.regular_close is not None
            close = self.session.regular_close
            length = parse_interval(interval)
            start = (close - timedelta(microseconds=1)) if length.daily else close - length.length
            # in UTC, the zone of every bar's start: comparing datetimes of two zones asks both
            # for their offsets (about 20x slower), and strategies compare at every bar
            start = self._last_starts[interval] = start.astimezone(UTC)
        return start

    def expected_count_as_of(self) -> int:
        return bisect_right(self._expected, self.as_of)
