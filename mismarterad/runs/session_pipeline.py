"""Builds the four session threads and wires their queues and their read model.

`build_session_pipeline` is what a composition root hands to `SystemManager.start`; the
SessionPipeline it returns holds the run's ExecutionManager and ReadModel, so the caller
gets everything back from `start` and never reaches into the threads.

Bounded queues give back-pressure: the coordinator can run ahead of the engine by at most
`QUEUE_BATCHES` batches, so memory depends on `prefetch_days`, not on the backtest length.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from mismarterad.config.risk_config import RiskConfig, effective_limits
from mismarterad.config.session_config import SessionConfig
from mismarterad.core.bar_feed import BarFeed
from mismarterad.core.broker import Broker
from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data_source import MarketDataSource
from mismarterad.core.paper_account import PaperBalance
from mismarterad.core.read_model import PipelineSnapshot, ReadModel
from mismarterad.core.risk import PDT_WINDOW_SESSIONS, RiskLimits
from mismarterad.core.run_result import PriceColumn, RunResult, SymbolCloses
from mismarterad.integrations.paper import PaperBroker
from mismarterad.services.fill_models import CommissionModel
from mismarterad.managers.data_manager import DataManager
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.managers.order_journaling import OrderJournaling
from mismarterad.managers.reconciler import ReconcileSettings
from mismarterad.managers.risk_guard import PdtHistory, RiskGuard
from mismarterad.managers.session_loader import SessionLoader
from mismarterad.managers.time_manager import TimeManager
from mismarterad.managers.trade_log import TradeLog
from mismarterad.services.order_ids import OrderIds, SessionOrderIds
from mismarterad.strategies.base import IndicatorRequest
from mismarterad.strategies.spec import StrategySpec
from mismarterad.threads.analysis_engine import AnalysisEngine
from mismarterad.threads.data_processor import DataProcessor
from mismarterad.threads.data_quality_manager import DataQualityManager
from mismarterad.threads.session_coordinator import SessionCoordinator
from mismarterad.threads.worker import PipelineFailure

__all__ = [
    "DEFAULT_INITIAL_CASH",
    "SessionPipeline",
    "build_session_pipeline",
    "collect_result",
    "derived_intervals",
    "make_paper_broker",
    "pdt_history",
]

QUEUE_BATCHES = 4
THREAD_NAMES = ("SessionCoordinator", "DataProcessor", "DataQualityManager", "AnalysisEngine")
DEFAULT_INITIAL_CASH = 1_000_000.0


class SessionPipeline:
    """The running threads of one session run (implements `core.pipeline.Pipeline`)."""

    def __init__(
        self,
        coordinator: SessionCoordinator,
        processor: DataProcessor,
        quality: DataQualityManager,
        engine: AnalysisEngine,
        failure: PipelineFailure,
        execution: ExecutionManager,
        read_model: ReadModel,
    ) -> None:
        self.coordinator, self.processor, self.quality, self.engine = coordinator, processor, quality, engine
        self.execution = execution
        self.read_model = read_model
        self._failure = failure
        self._threads = (engine, quality, processor, coordinator)  # consumers first

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def request_stop(self) -> None:
        self._failure.stop_event.set()

    def drain(self, timeout_secs: float) -> bool:
        """End a live session in order (see SessionCoordinator.drain); True if every thread ended."""
        self.coordinator.drain()
        return self.join(timeout_secs)

    def join(self, timeout_secs: float) -> bool:
        deadline = time.monotonic() + timeout_secs
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return self.finished()

    def finished(self) -> bool:
        return not any(t.is_alive() for t in self._threads)

    def error(self) -> str | None:
        return self._failure.message

    def snapshot(self) -> PipelineSnapshot:
        """What the threads last published (views, metrics, the watchdog, progress bars)."""
        return self.read_model.snapshot()


def derived_intervals(config: SessionConfig, strategy_intervals: Sequence[str],
                      requests: Sequence[IndicatorRequest]) -> list[str]:
    """Intraday intervals other than 1m that anything in the session needs, built from 1m bars."""
    wanted = set(strategy_intervals) | {r.interval for r in requests}
    for entry in config.session_data_config.historical.data:
        wanted |= set(entry.intervals)
    names = {parse_interval(i).name for i in wanted}
    intraday = [n for n in names if n != "1m" and not parse_interval(n).daily]
    return sorted(intraday, key=lambda n: parse_interval(n).minutes)


def build_session_pipeline(
    *,
    config: SessionConfig,
    strategies: Sequence[StrategySpec],
    time_manager: TimeManager,
    data_manager: DataManager,
    broker: Broker,
    days: Sequence[date],
    stop_on_strategy_error: bool,
    live: bool = False,
    feed: BarFeed | None = None,
    history: MarketDataSource | None = None,
    observe_loop: Callable[[str, float], None] | None = None,
    observe_decision: Callable[[float], None] | None = None,
    risk: RiskLimits | None = None,
    earlier_day_trades: Callable[[Sequence[date]], int] | None = None,
    ids: OrderIds | None = None,
    journaling: OrderJournaling | None = None,
    reconcile: ReconcileSettings | None = None,
    trade_log_level: int = logging.DEBUG,
) -> SessionPipeline:
    """Wire the four threads. `live` takes the day's bars from `feed` (required then; the bars
    already due come from the store, which `history` first fills where it lacks them) and holds the session open until stopped; the observers
    feed the daemon's metrics (None in backtests: no cost there). `risk` defaults to the session
    config's own `risk` object; `earlier_day_trades` counts the PDT window's day trades made
    before this run (a backtest counts only its own). A daemon's day-run names its orders by
    `ids` (unique per account across days and restarts), journals them (`journaling`) and
    reconciles a real account with its broker (`reconcile`); a backtest has none of these.
    `trade_log_level` is the level of the run's order and fill lines (managers/trade_log.py):
    a day-run's INFO, a backtest's DEBUG."""
    if live and feed is None:
        raise ValueError("a live session pipeline needs a bar feed")
    failure = PipelineFailure()
    board = ReadModel()
    for name in THREAD_NAMES:  # the order views list them in: upstream first
        board.register_thread(name)
    limits = risk if risk is not None else effective_limits(None, config.risk)
    execution = ExecutionManager(broker, RiskGuard(limits, config.flatten_minutes_before_close,
                                                   pdt_history(time_manager, earlier_day_trades)),
                                 ids or SessionOrderIds(config.session_name), journaling, reconcile,
                                 TradeLog(trade_log_level))
    to_processor: queue.Queue[Any] = queue.Queue(QUEUE_BATCHES)
    to_quality: queue.Queue[Any] = queue.Queue(QUEUE_BATCHES)
    to_engine: queue.Queue[Any] = queue.Queue(QUEUE_BATCHES)
    symbols = config.session_data_config.symbols
    engine = AnalysisEngine(to_engine, failure, execution, strategies, time_manager.timezone, board,
                            stop_on_strategy_error, publish_history=live, session_symbols=symbols)
    engine.observe_decision = observe_decision
    requests = engine.indicator_requests()
    derived = derived_intervals(config, engine.intervals_read(), requests)
    processor = DataProcessor(to_processor, to_engine, failure, board, symbols, derived, requests)
    quality = DataQualityManager(to_quality, failure, board, symbols, derived)
    bt = config.backtest_config
    coordinator = SessionCoordinator(
        time_manager=time_manager,
        loader=SessionLoader(data_manager, time_manager, config),
        days=days,
        speed_multiplier=bt.speed_multiplier if bt else 0.0,
        prefetch_days=bt.prefetch_days if bt else 1,
        processor_inbox=to_processor,
        quality_inbox=to_quality,
        failure=failure,
        board=board,
        live=live,
        feed=feed,
        history=history,
        observe_loop=observe_loop,
    )
    for worker in (processor, quality, engine):
        worker.observe_loop = observe_loop
    return SessionPipeline(coordinator, processor, quality, engine, failure, execution, board)


def pdt_history(time_manager: TimeManager,
                earlier_day_trades: Callable[[Sequence[date]], int] | None) -> PdtHistory:
    """The pattern-day-trader window of a day (it and the 4 trading days before it, from the
    calendar) and the day trades made on its earlier days outside this run."""
    def history(day: date) -> tuple[Sequence[date], int]:
        window = [day, *(time_manager.get_previous_trading_date(day, n) for n in range(1, PDT_WINDOW_SESSIONS))]
        return window, earlier_day_trades(window[1:]) if earlier_day_trades is not None else 0
    return history


def make_paper_broker(config: SessionConfig, daemon_risk: RiskConfig | None = None,
                      opening: PaperBalance | None = None) -> PaperBroker:
    """The paper account of a run: commission and slippage from `backtest_config`, cash from it
    too unless the run opens a kept account (`opening`: the daemon's paper account, with the
    positions it carries); it shorts only where the run's risk limits allow it."""
    short = effective_limits(daemon_risk, config.risk).allow_short
    bt = config.backtest_config
    cash = opening.cash if opening is not None else bt.initial_cash if bt is not None else DEFAULT_INITIAL_CASH
    positions = opening.positions if opening is not None else ()
    if bt is None:
        return PaperBroker(initial_cash=cash, short_selling=short, positions=positions)
    return PaperBroker(
        initial_cash=cash,
        commission=CommissionModel(bt.commission_per_share, bt.commission_per_order, bt.commission_minimum),
        slippage_bps=bt.slippage_bps,
        short_selling=short,
        positions=positions,
    )


def collect_result(config: SessionConfig, mode: str, days: Sequence[date], pipeline: SessionPipeline,
                   initial_cash: float | None = None) -> RunResult:
    """What the report writer needs from a finished (or stopped) run: read from the threads'
    own records once they have ended. `initial_cash`: the equity the run started from, where
    it is not the session config's (a day of the daemon's kept paper account)."""
    bt = config.backtest_config
    engine, execution = pipeline.engine, pipeline.execution
    equity = execution.record.equity.copy()
    return RunResult(
        session_name=config.session_name,
        mode=mode,
        first_day=days[0],
        last_day=days[-1],
        initial_cash=initial_cash if initial_cash is not None else bt.initial_cash if bt else DEFAULT_INITIAL_CASH,
        orders=tuple(execution.orders()),
        fills=tuple(execution.fills()),
        equity=equity,
        quality=tuple(pipeline.quality.records),
        bars_processed=engine.bars_processed,
        sessions_run=tuple(engine.sessions_run),
        sessions_skipped=tuple(engine.sessions_skipped),
        refusals=tuple(execution.refusals()),
        loss_halts=tuple(execution.loss_halts()),
        closes=_closes(dict(execution.record.closes), len(equity)),
        carried=tuple(execution.carried()),
    )


def _closes(columns: dict[str, PriceColumn], steps: int) -> tuple[SymbolCloses, ...]:
    out = []
    for symbol, column in sorted(columns.items()):
        # cut to the equity points taken: a thread that did not stop in time may have marked one more
        fitted = column[:steps]
        fitted.fit(steps)
        out.append(SymbolCloses(symbol, fitted))
    return tuple(out)
