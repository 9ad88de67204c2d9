"""One day-run of the daemon: start the pipeline for a trading day, persist as it trades, stop,
report.

A day-run covers the day's window [open − lead, close + lag]. Bars come from the day's bar
feed; a start inside the window first takes the bars already due from the store (catch-up).
Every order is journaled before it is sent, and every change and fill as it happens
(repositories/order_journal.py); the report folder `<state>/reports/<date>/` is written when
it stops. A restart (after a failure, a crash, a kill) is a new day-run of the same day that
resumes it: it reads the day's journal, the strategies are rebuilt from today's bars, the
journaled orders are adopted by id and never sent again, and nothing is sent for a bar that
passed (docs/decisions.md, "Restart = resume"). The paper broker, new each run, opens at the
day's opening balance of the daemon's paper account and is rebuilt from the day's journal (its
journaled fills booked at their steps, its working orders restored), so its money is the
opening plus the journaled fills whatever the strategies decide on the replay; a day-run that
traded the whole day saves its balance as the day's end (runs/paper_account.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Literal

import structlog

from mismarterad.config.risk_config import RiskConfig, effective_limits
from mismarterad.config.session_config import SessionConfig
from mismarterad.core.enums import SystemState
from mismarterad.core.errors import MismarteradError
from mismarterad.core.read_model import PipelineSnapshot
from mismarterad.managers.order_journaling import OrderJournaling
from mismarterad.managers.reconciler import ReconcileSettings
from mismarterad.managers.system_manager import SystemManager
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.order_journal import SqlOrderJournal
from mismarterad.runs.app import App
from mismarterad.runs.bar_recorder import RecordingFeed
from mismarterad.runs.reports import write_backtest_report, write_failure_report
from mismarterad.runs.session_pipeline import SessionPipeline, build_session_pipeline, collect_result
from mismarterad.runs.venue import DayVenue, Venue
from mismarterad.services.day_trades import count_day_trades
from mismarterad.services.order_ids import SessionOrderIds
from mismarterad.strategies.spec import StrategySpec

__all__ = ["DayRun", "Observers", "ShutdownPolicy", "stored_day_trades"]

log = structlog.get_logger(component="day_run")

ShutdownPolicy = Literal["flatten", "cancel", "leave"]


@dataclass(frozen=True)
class Observers:
    """The daemon's histograms, observed by the threads as they work."""

    loop: Callable[[str, float], None] | None = None
    decision: Callable[[float], None] | None = None


@dataclass
class DayRun:
    """The state of one day-run; built by the daemon for each start (restarts included)."""

    app: App
    system: SystemManager
    time_manager: TimeManager
    config: SessionConfig
    strategies: Sequence[StrategySpec]
    venue: Venue
    day: date
    reports_dir: Path
    halted: bool = False
    observers: Observers = field(default_factory=Observers)
    daemon_risk: RiskConfig | None = None  # the daemon's [risk] table, under the session's `risk`
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    recorder: RecordingFeed | None = None  # a live venue's feed bars, written to the store as they come
    start_error: str | None = None  # why start() failed (the venue refused, the threads did not start)
    pipeline: SessionPipeline | None = None  # None until (and unless) the start built it
    run_id: int = 0
    started_monotonic: float = 0.0
    started_utc: datetime | None = None
    opening_equity: float | None = None  # a paper account's equity as the day opened (the report's start)
    resumed_orders: int = 0  # orders earlier day-runs of the day journaled (0: a fresh start)
    report_path: Path | None = None

    def start(self) -> None:
        """Connect to the venue (keys checked, streams started), then start the threads. Any
        failure is the caller's to retry; the venue is closed again first."""
        self.started_utc = self._now()
        self.run_id = self.app.run_repository.start("live", self.config.session_name,
                                                    self.app.config_digest(self.config), self.started_utc)
        self.started_monotonic = time.monotonic()
        log.info("session_starting", day=self.day.isoformat(), run_id=self.run_id, broker=self.venue.name)
        try:
            connected = self.venue.open_day(self.config, self.time_manager.get_trading_session(self.day))
            self.opening_equity = connected.opening_equity
            if connected.history is not None:
                self.recorder = RecordingFeed(connected.feed, self.system.get_data_manager(), self.day)
            ids = SessionOrderIds(self.config.session_name, self.day, kept_prefix=connected.id_prefix)
            journal = SqlOrderJournal(self.app.db_sessions, self.venue.account, self.run_id)
            day = journal.day(ids.prefix)
            self.resumed_orders = len(day.orders)
            if day.orders:
                log.warning("session_resuming", day=self.day.isoformat(), journaled_orders=len(day.orders),
                            journaled_fills=len(day.fills))
            journaling = OrderJournaling(journal, day)
            self.pipeline = self.system.start(
                self.config, lambda config, _dir: self._build(config, connected, ids, journaling))
        except BaseException as exc:
            self.start_error = str(exc) if isinstance(exc, MismarteradError) else f"{type(exc).__name__}: {exc}"
            self.venue.close_day()
            self.app.run_repository.finish(self.run_id, "failed", self._now(), str(exc))
            raise

    def _build(self, config: SessionConfig, connected: DayVenue, ids: SessionOrderIds,
               journaling: OrderJournaling) -> SessionPipeline:
        pipeline = build_session_pipeline(
            config=config, strategies=self.strategies, time_manager=self.time_manager,
            data_manager=self.system.get_data_manager(), broker=connected.broker, days=[self.day],
            stop_on_strategy_error=False, live=True, feed=self.recorder or connected.feed, history=connected.history,
            observe_loop=self.observers.loop, observe_decision=self.observers.decision,
            risk=effective_limits(self.daemon_risk, config.risk), earlier_day_trades=self._earlier_day_trades,
            ids=ids, journaling=journaling, reconcile=self.reconcile, trade_log_level=logging.INFO)
        pipeline.execution.halt(self.halted)  # before the threads start: no order slips through
        return pipeline

    def _earlier_day_trades(self, days: Sequence[date]) -> int:
        return stored_day_trades(self.app, self.time_manager, days)  # errors: RiskGuard.history assumes 3

    @property
    def built(self) -> bool:
        return self.pipeline is not None and self.run_id != 0

    def persist(self) -> None:
        """Journal the order changes that came without a call of ours (trade updates: cancels,
        expiries), and save the broker's positions. Intents, answers and fills are journaled
        as they happen, by ExecutionManager."""
        if self.pipeline is None or self.run_id == 0:
            return
        execution = self.pipeline.execution
        execution.sync_journal()
        symbols = {f.symbol for f in execution.fills()} | set(self.config.session_data_config.symbols)
        self.app.order_repository.save_positions(self.run_id, execution.broker_positions(), symbols, self._now())
        if self.recorder is not None:
            self.recorder.flush()

    def stop(self, policy: ShutdownPolicy, *, drain: bool, timeout_secs: float = 6.0) -> Path:
        """Stop the threads, settle open orders and positions by `policy`, persist, report.

        `drain` (the scheduled stop after the close) lets every queued bar and the SessionEnd
        reach the engine first, so the day ends exactly as in a backtest; a shutdown stops at
        once. Either way the threads get at most `timeout_secs`. A paper account stopped while
        still replaying the day is not settled: its positions are the past's.
        """
        pipeline = self.pipeline
        assert pipeline is not None, "stop() of a day-run whose pipeline was never built"
        execution = pipeline.execution
        if drain and self.system.state is SystemState.RUNNING:
            pipeline.drain(timeout_secs)
        if self.system.state is not SystemState.STOPPED:
            self.system.stop(timeout_secs)
        execution.close()  # a thread that did not stop in time can no longer send anything
        if not pipeline.finished():
            log.error("session_threads_still_running", day=self.day.isoformat(),
                      note="their orders are refused from now on; settling anyway")
        whole_day = self._caught_up()
        if policy != "leave" and self.venue.simulated and not whole_day:
            log.warning("session_settle_skipped", day=self.day.isoformat(), policy=policy,
                        reason="the paper account was still replaying the day: its positions are the past's",
                        note="the next day-run of the day replays it again; without one it ends as journaled")
            policy = "leave"
        try:
            if policy == "flatten":
                execution.close_session(pipeline.engine.last_bar_end or self._now())
            elif policy == "cancel":
                execution.cancel_open_orders()
        finally:  # whatever the broker did, the records are saved and its streams stopped
            try:
                self.persist()
                if self.recorder is not None:
                    self.recorder.flush(force=True)
            finally:
                self.venue.close_day(whole_day=whole_day)
        failed = self.system.state is SystemState.ERROR
        self.app.run_repository.finish(self.run_id, "failed" if failed else "completed", self._now(),
                                       self.system.error)
        result = collect_result(self.config, "live", [self.day], pipeline, self.opening_equity)
        run_info = self._run_info("failed" if failed else "completed", self.system.error, result.bars_processed)
        self.report_path = write_backtest_report(self.reports_dir / self.day.isoformat(), result,
                                                 self.time_manager.timezone, run_info)
        log.info("session_report_written", day=self.day.isoformat(), path=str(self.report_path))
        return self.report_path

    def _caught_up(self) -> bool:
        """Whether the pipeline handled a bar that ended after this day-run started: its broker
        then replayed every bar an earlier day-run of the day could have traded on."""
        assert self.pipeline is not None
        last = self.pipeline.engine.last_bar_end
        return last is not None and self.started_utc is not None and last > self.started_utc

    def write_failure_report(self, error: str) -> Path:
        """A day-run whose pipeline was never built still leaves a report folder saying why."""
        run_info = self._run_info("failed", error, 0)
        if self.run_id:
            self.app.run_repository.finish(self.run_id, "failed", self._now(), error)
        self.report_path = write_failure_report(self.reports_dir / self.day.isoformat(), run_info)
        return self.report_path

    def _run_info(self, status: str, error: str | None, bars_processed: int) -> dict[str, object]:
        return {"run_id": self.run_id, "day": self.day.isoformat(), "status": status, "error": error,
                "elapsed_secs": round(time.monotonic() - self.started_monotonic, 3), "bars_processed": bars_processed,
                "resumed_orders": self.resumed_orders}

    def pipeline_snapshot(self) -> PipelineSnapshot | None:
        """What the day-run's threads last published; None while its pipeline was never built."""
        return self.pipeline.snapshot() if self.pipeline is not None else None

    def _now(self) -> datetime:
        """Runs, positions and reports are stamped in the session's own time (the replay clock
        in a rehearsal), through TimeManager like every other instant."""
        return self.time_manager.clock.now()


def stored_day_trades(app: App, tm: TimeManager, days: Sequence[date]) -> int:
    """Day trades made on `days` by the daemon's stored fills: per day the largest count among
    the records of it (the journal holds each execution once; a day from before the journal
    has one record per day-run, each replaying the same trades), summed."""
    if not days:
        return 0
    start = tm.market_datetime(min(days), dt_time(0))
    end = tm.market_datetime(max(days) + timedelta(days=1), dt_time(0))
    per_day: dict[date, int] = {}
    for fills in app.order_repository.live_fill_records(start, end):
        for day, count in count_day_trades(fills, lambda t: tm.to_market_time(t).date()).items():
            per_day[day] = max(per_day.get(day, 0), count)
    return sum(per_day.get(d, 0) for d in set(days))
