"""One trading day run by the daemon: start the pipeline, persist as it trades, stop, report.

The session is the day's window [open − lead, close + lag]. Bars come from the store as the
clock passes their end (the paper feed); a start inside the window replays the bars already
due at once, so a restart after a crash rebuilds exactly the same paper account. Orders and
fills are saved while the session runs (a crash loses at most a second of records); the report
folder `<state>/reports/<date>/` is written when the session stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import structlog

from mismarterad.config.session_config import SessionConfig
from mismarterad.core.enums import SystemState
from mismarterad.runs.app import App
from mismarterad.runs.reports import write_backtest_report, write_failure_report
from mismarterad.runs.session_pipeline import SessionPipeline, collect_result
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.managers.system_manager import SystemManager
from mismarterad.managers.time_manager import TimeManager

__all__ = ["LiveSession"]

log = structlog.get_logger(component="live_session")

ShutdownPolicy = Literal["flatten", "cancel", "leave"]


@dataclass
class LiveSession:
    """The state of the day's run; built by the daemon for each start (restarts included)."""

    app: App
    system: SystemManager
    time_manager: TimeManager
    config: SessionConfig
    day: date
    reports_dir: Path
    built: Callable[[], tuple[SessionPipeline, ExecutionManager]]  # raises if the start never built them
    run_id: int = 0
    started_monotonic: float = 0.0
    saved_fills: int = 0
    report_path: Path | None = None

    def start(self) -> None:
        self.run_id = self.app.run_repository.start("live", self.config.session_name,
                                                    self.app.config_digest(self.config), self._now())
        self.started_monotonic = time.monotonic()
        log.info("session_starting", day=self.day.isoformat(), run_id=self.run_id)
        try:
            self.system.start(self.config)
        except BaseException as exc:
            self.app.run_repository.finish(self.run_id, "failed", self._now(), str(exc))
            raise

    @property
    def execution(self) -> ExecutionManager:
        return self.built()[1]

    def persist(self) -> None:
        """Save orders (inserted or updated) and the fills not saved yet."""
        if self.run_id == 0:
            return
        execution = self.execution
        self.app.order_repository.save_orders(self.run_id, execution.orders())
        fills = execution.fills()
        if len(fills) > self.saved_fills:
            self.app.order_repository.save_fills(self.run_id, fills[self.saved_fills :], self.saved_fills + 1)
            self.saved_fills = len(fills)
        self.app.order_repository.save_positions(self.run_id, execution.broker_positions(),
                                                 {f.symbol for f in fills}, self._now())

    def stop(self, policy: ShutdownPolicy, *, drain: bool, timeout_secs: float = 6.0) -> Path | None:
        """Stop the threads, settle open orders and positions by `policy`, persist, report.

        `drain` (the scheduled stop after the close) lets every queued bar and the SessionEnd
        reach the engine first, so the day ends exactly as in a backtest; a shutdown stops at
        once. Either way the threads get at most `timeout_secs`.
        """
        pipeline, execution = self.built()
        if drain and self.system.state is SystemState.RUNNING:
            pipeline.drain(timeout_secs)
        if self.system.state is not SystemState.STOPPED:
            self.system.stop(timeout_secs)
        if policy == "flatten":
            execution.close_session(self._last_step_end(pipeline))
        elif policy == "cancel":
            execution.cancel_open_orders()
        self.persist()
        failed = self.system.state is SystemState.ERROR
        self.app.run_repository.finish(self.run_id, "failed" if failed else "completed", self._now(),
                                       self.system.error)
        result = collect_result(self.config, "live", [self.day], pipeline, execution)
        run_info = {"run_id": self.run_id, "day": self.day.isoformat(), "status": "failed" if failed else "completed",
                    "elapsed_secs": round(time.monotonic() - self.started_monotonic, 3),
                    "bars_processed": pipeline.engine.bars_processed, "error": self.system.error}
        self.report_path = write_backtest_report(self.reports_dir / self.day.isoformat(), result,
                                                 self.time_manager.timezone, run_info)
        log.info("session_report_written", day=self.day.isoformat(), path=str(self.report_path))
        return self.report_path

    def write_failure_report(self, error: str) -> Path:
        """A session whose pipeline was never built still leaves a report folder saying why."""
        run_info = {"run_id": self.run_id, "day": self.day.isoformat(), "status": "failed", "error": error,
                    "elapsed_secs": round(time.monotonic() - self.started_monotonic, 3), "bars_processed": 0}
        if self.run_id:
            self.app.run_repository.finish(self.run_id, "failed", self._now(), error)
        self.report_path = write_failure_report(self.reports_dir / self.day.isoformat(), run_info)
        return self.report_path

    def _now(self) -> datetime:
        """Runs, positions and reports are stamped in the session's own time (the replay clock
        in a rehearsal), through TimeManager like every other instant."""
        return self.time_manager.clock.now()

    def _last_step_end(self, pipeline: SessionPipeline) -> datetime:
        return pipeline.engine.last_bar_end or self.time_manager.clock.now()
