"""The long-running daemon: plans each trading day, runs it, and answers for itself.

Threads: the main thread (signals, supervision, persistence, watchdog), APScheduler's thread
(session start/stop jobs), the control socket's threads, the metrics HTTP thread, and during a
session the four pipeline threads. Everything that changes the session happens under one lock.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import signal
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from types import FrameType

import structlog

from mismarterad.config.settings import Settings
from mismarterad.core.clock import Clock
from mismarterad.core.enums import SystemState
from mismarterad.core.errors import ConfigError, DataError, StateError
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderStatus
from mismarterad.core.paper_account import PaperBalance
from mismarterad.daemon.control import DaemonControl, DaemonSnapshot, DayRunSnapshot, FrontEnd, HaltOutcome
from mismarterad.daemon.control_server import ControlServer, Handler
from mismarterad.daemon.day_runs import DayRunsMixin
from mismarterad.daemon.kill_switch import KillSwitch
from mismarterad.daemon.metrics import DaemonMetrics
from mismarterad.daemon.notify import Notifier
from mismarterad.daemon.scheduler import SessionScheduler
from mismarterad.daemon.state_lock import StateLock
from mismarterad.daemon.views import metrics_view, status_line
from mismarterad.integrations.claude.conversation import Answer
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.managers.system_manager import SystemManager
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.halt_store import HALT_FILE, HaltStore
from mismarterad.runs.app import App
from mismarterad.runs.assistant_jobs import AssistantJobs
from mismarterad.runs.day_run import DayRun
from mismarterad.runs.day_run_totals import DayRunTotals
from mismarterad.runs.loaded_config import LoadedConfig, load_config
from mismarterad.runs.report_recovery import recover_reports
from mismarterad.runs.system_access import register_system_manager
from mismarterad.runs.venue import Venue, build_venue
from mismarterad.services.session_plan import SessionWindow
from mismarterad.services.thread_health import first_stalled

__all__ = ["Daemon"]

log = structlog.get_logger(component="daemon")

LOOP_SECS = 0.5
STALL_SECS = 10.0  # a session thread silent this long (real seconds) stops the watchdog pings
EX_IOERR = 74  # sysexits: the state directory vanished under the running daemon
SNAPSHOT_WAIT_SECS = 0.25  # a reader waits this long for the lock, then takes the last snapshot


class Daemon(DayRunsMixin):
    """Implements `DaemonControl` (daemon/control.py), the only face its front ends see."""

    def __init__(self, loaded: LoadedConfig, settings: Settings, clock: Clock, socket_path: Path,
                 commands: Callable[[DaemonControl], Handler], state_lock: StateLock | None = None,
                 front_end: Callable[[DaemonControl], FrontEnd] | None = None) -> None:
        """`commands`: the control socket's commands over this daemon (cli/control_api.py);
        `front_end`: the REST API over it (mismarterad/api), when the config has an [api] table."""
        self.loaded = loaded
        self.app = App(settings=settings, clock=clock)
        session = loaded.session
        self._time_manager = self.app.time_manager(session.exchange_group, session.asset_class)
        self.data_manager = self.app.data_manager(self._time_manager)
        self.metrics = DaemonMetrics(lambda: metrics_view(self.snapshot()),
                                     state_lock is not None and state_lock.previous_unclean)
        self.assistant = AssistantJobs(self.app, self.metrics, self.reports_dir)
        self.notifier = Notifier()
        self.system = SystemManager(self._time_manager, self.data_manager)
        # the broker and feed of every day-run; missing or exposed credentials stop the start (78)
        self.venue = build_venue(loaded.daemon, self.app)
        self._next_venue: Venue | None = None  # a reload's new broker settings, for the next day-run
        register_system_manager(self.system)
        self.scheduler = SessionScheduler(clock, self._start_job, self._stop_job)
        self.control = ControlServer(socket_path, commands(self), loaded.daemon.socket_group)
        self.front_end = front_end(self) if front_end is not None else None
        self.lock = threading.RLock()
        self._state_lock = state_lock
        self._exit_code = 0
        self.day_run: DayRun | None = None  # the running day-run; None between day-runs
        self._last_snapshot: DaemonSnapshot | None = None
        self.session_active = False
        self.failures = 0
        self.restarts = 0
        self._restart_at: float | None = None
        self.totals = DayRunTotals()
        self.started_monotonic = time.monotonic()
        self.last_report: dict[str, object] | None = None
        self.healthy = True
        self.done_day: date | None = None  # stopped (by schedule or by hand): not started again today
        self.following: SessionWindow | None = None  # the window after the planned one
        # the operator's halt: survives day-run restarts and daemon restarts (the file), cleared by resume
        self.kill_switch = KillSwitch(HaltStore(settings.state_dir / HALT_FILE), clock.now())
        self.shutting_down = False
        self._next_replan = 0.0
        self._stop = threading.Event()
        self._signalled = ""
        self._reload = threading.Event()
        self._next_persist = 0.0
        self.metrics_port = 0

    @property
    def reports_dir(self) -> Path:
        return self.app.settings.state_dir / "reports"

    @property
    def time_manager(self) -> TimeManager:
        return self._time_manager

    # -- main loop -------------------------------------------------------------------------

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):  # first: a signal during start-up is handled too
            signal.signal(sig, self._on_stop_signal)
        signal.signal(signal.SIGHUP, self._on_reload_signal)
        _ = self.app.engine  # migrate before anything else
        abandoned = self.app.run_repository.abandon_running("live", self.loaded.session.session_name,
                                                            self.app.clock.now())
        if abandoned:
            log.warning("abandoned_runs_marked", count=abandoned)
        self._recover_reports()
        host, port = self.loaded.daemon.metrics_host_port
        try:
            self.metrics_port = self.metrics.serve(host, port)
        except OSError as exc:
            raise ConfigError(f"metrics_address: cannot listen on {host}:{port}: {exc.strerror}") from None
        if self.front_end is not None:
            self.front_end.start()
        self.control.start()
        self.scheduler.start()
        with self.lock:
            self._plan()
        self.notifier.ready()
        log.info("daemon_ready", socket=str(self.control.path), metrics=f"{host}:{self.metrics_port}",
                 clock=type(self.app.clock).__name__)
        try:
            while not self._stop.wait(self.notifier.poll_secs(LOOP_SECS)):
                try:
                    self._tick()
                except Exception as exc:  # noqa: BLE001 - the loop outlives any one bad tick; no ping then
                    log.error("main_loop_error", error=f"{type(exc).__name__}: {exc}")
        finally:
            log.info("signal_received" if self._signalled else "daemon_stop_requested",
                     signal=self._signalled or None)
            self._shutdown()
        return self._exit_code

    def _recover_reports(self) -> None:
        """Reports lost to a kill during their write: staging folders cleared, rebuilt from the database."""
        d = self.loaded.daemon
        try:
            recover_reports(self.app, self._time_manager, self.loaded.session, self.reports_dir,
                            timedelta(minutes=d.lead_minutes), timedelta(minutes=d.lag_minutes))
        except Exception as exc:  # noqa: BLE001 - a report we cannot rebuild never keeps the daemon down
            log.error("report_recovery_failed", error=f"{type(exc).__name__}: {exc}")

    def _tick(self) -> None:
        if self._state_lock is not None and not self._state_lock.intact():
            log.error("state_directory_vanished", lock=str(self._state_lock.path),
                      action="stopping (exit 74): the database, reports and the one-daemon lock are gone")
            self._exit_code = EX_IOERR
            self._stop.set()
            return
        if self._reload.is_set():
            self._reload.clear()
            log.info("signal_received", signal="SIGHUP")
            with contextlib.suppress(ConfigError):  # rejected and logged; the old config keeps running
                self.reload()
        self._supervise()
        self._replan_if_idle()
        self.healthy = self._check_health()
        if self.healthy:
            self.notifier.watchdog()
        self.notifier.status(status_line(self.snapshot()))

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        # only set flags here: logging from a handler can deadlock on the logger's own lock
        self._signalled = signal.Signals(signum).name
        self._stop.set()

    def _on_reload_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._reload.set()

    def _shutdown(self) -> None:
        self.notifier.stopping()
        log.info("daemon_stopping")
        self.shutting_down = True  # from here no job or command starts a session
        self.scheduler.shutdown()
        if self.front_end is not None:
            self.front_end.stop()
        self.control.stop()
        with self.lock:
            if self.day_run is not None:
                self._finish_session(self.loaded.daemon.on_shutdown, drain=False)
        self.metrics.stop()
        log.info("daemon_stopped")

    # -- supervision -----------------------------------------------------------------------

    def _check_health(self) -> bool:
        if not (self.scheduler.alive and self.control.alive):
            return False
        if self.front_end is not None and not self.front_end.alive:
            if self.healthy:  # once: the watchdog pings stop and systemd restarts the daemon
                log.error("api_thread_died", action="watchdog pings stop: systemd restarts the daemon")
            return False
        with self.lock:
            run = self.day_run
            if run is None or run.pipeline is None or self.system.state is not SystemState.RUNNING:
                return True
            threads = run.pipeline.snapshot().threads
        stalled = first_stalled(threads, time.monotonic(), run.started_monotonic, STALL_SECS)
        if stalled is not None and self.healthy:
            log.error("thread_stalled", thread=stalled.name, alive=stalled.alive,
                      silent_secs=round(stalled.silent_secs(time.monotonic()) or 0.0, 1))
        return stalled is None

    # -- reload ----------------------------------------------------------------------------

    def reload(self) -> dict[str, object]:
        """Re-read the config and re-plan; an invalid config is rejected and the old one kept."""
        self.notifier.reloading()
        try:
            loaded = load_config(self.loaded.path)
            old = self.loaded.daemon
            venue_changed = (loaded.daemon.broker, loaded.daemon.alpaca, loaded.daemon.schwab, loaded.daemon.paper) != (
                old.broker, old.alpaca, old.schwab, old.paper)
            venue = build_venue(loaded.daemon, self.app) if venue_changed else None
        except ConfigError as exc:
            log.error("reload_rejected", error=str(exc), path=str(self.loaded.path))
            self.notifier.ready()
            raise
        except Exception as exc:  # noqa: BLE001 - a reload never stops the daemon: rejected like a bad config
            error = f"reading {self.loaded.path} failed: {type(exc).__name__}: {exc}"
            log.error("reload_rejected", error=error, path=str(self.loaded.path))
            self.notifier.ready()
            raise ConfigError(error) from exc
        with self.lock:
            changed_socket = loaded.daemon.socket_path != self.loaded.daemon.socket_path
            self.loaded = loaded
            if venue is not None:  # taken by the next day-run start: a running one keeps its broker
                self._next_venue = venue
            try:
                self._plan()
            except Exception as exc:  # noqa: BLE001 - retried by the main loop
                log.error("replan_failed", error=f"{type(exc).__name__}: {exc}")
        log.info("config_reloaded", path=str(loaded.path),
                 note="socket and metrics addresses apply at the next start" if changed_socket else None)
        self.notifier.ready()
        return {"reloaded": True}

    # -- DaemonControl --------------------------------------------------------------------

    def snapshot(self) -> DaemonSnapshot:
        """The daemon as one frozen value: every view, the metrics and STATUS read this. While a
        stop or start holds the lock (up to seconds), readers get the last value taken instead
        of waiting: a scrape or `mismarterctl status` never hangs on the daemon's work."""
        if not self.lock.acquire(timeout=SNAPSHOT_WAIT_SECS):
            if self._last_snapshot is not None:
                return self._last_snapshot
            self.lock.acquire()
        try:
            run = self.day_run
            snapshot = DaemonSnapshot(
                state=self.system.state, error=self.system.error, clock_utc=self.app.clock.now(),
                clock_kind=type(self.app.clock).__name__, timezone=self._time_manager.timezone,
                session_active=self.session_active, planned=self.scheduler.planned, following=self.following,
                day_run=self._day_run_snapshot(run) if run is not None else None, halted=self.kill_switch.state,
                session_failures=self.failures, session_restarts=self.restarts, watchdog_healthy=self.healthy,
                uptime_secs=time.monotonic() - self.started_monotonic, metrics_port=self.metrics_port,
                last_report=dict(self.last_report) if self.last_report else None, config_path=self.loaded.path,
                daemon_config=self.loaded.daemon,
                session_config=run.config if run is not None else self.loaded.session,
                orders_before=dict(self.totals.orders), fills_before=dict(self.totals.fills),
                refusals_before=dict(self.totals.refusals), loss_halts_before=self.totals.loss_halts,
                reconciliation_before=dict(self.totals.reconciliation),
                venue=self.venue.status(), start_error=run.start_error if run is not None else None,
                paper_account=self.venue.paper.balance() if self.venue.paper is not None else None)
            self._last_snapshot = snapshot
            return snapshot
        finally:
            self.lock.release()

    def stored_bars(self, symbol: str, interval: str, start: date, end: date) -> list[Bar]:
        if not any(series.symbol == symbol for series in self.data_manager.list_series()):
            raise DataError(f"symbol: no bars of {symbol!r} are stored (`mismarterad data list` shows what is)")
        return self.data_manager.get_bars(symbol, interval, start, end)

    def _day_run_snapshot(self, run: DayRun) -> DayRunSnapshot:
        session = self._time_manager.get_trading_session(run.day)
        return DayRunSnapshot(run.day, run.run_id, run.started_monotonic, session.regular_open,
                              session.regular_close, session.is_early_close, run.config, run.pipeline_snapshot())

    def start_day_run(self) -> None:
        with self.lock:
            if self.shutting_down:
                raise StateError("the daemon is shutting down")
            if self.day_run is not None:
                raise StateError(f"a session is already running ({self.day_run.day})")
            today = self._time_manager.get_current_time().date()
            window = next(iter(w for w in self.upcoming_windows(1) if w.day == today), None)
            if window is None:
                raise StateError(f"{today} has no session left to run (not a trading day, or closed)")
            self.session_active = True
            self.done_day = None
            self.scheduler.plan(window, start=False)
            self._start_session(today, self.loaded.session)

    def stop_day_run(self) -> None:
        with self.lock:
            if self.day_run is None:
                raise StateError("no session is running")
            self._stop_job(self.day_run.day)

    def halt(self, by: str, reason: str, flatten: bool) -> HaltOutcome:
        with self.lock:
            return self.kill_switch.halt(self._execution(), self.system.state is SystemState.RUNNING,
                                         self.app.clock.now(), by, reason, flatten)

    def resume(self, by: str) -> HaltOutcome:
        with self.lock:
            return self.kill_switch.resume(self._execution(), by)

    def _execution(self) -> ExecutionManager | None:
        """The running day-run's ExecutionManager, if its pipeline was built."""
        run = self.day_run
        return run.pipeline.execution if run is not None and run.pipeline is not None else None

    def reset_paper_account(self, by: str) -> PaperBalance:
        with self.lock:
            if self.day_run is not None:
                raise StateError(f"a session is running ({self.day_run.day}): the paper account is reset only "
                                 "between sessions (mismarterctl stop first)")
            if self.venue.paper is None:
                raise StateError(f'the broker is "{self.venue.name}": there is no paper account to reset')
            return self.venue.paper.reset(self.loaded.daemon.paper.initial_cash, self.app.clock.now(), by)

    def ask(self, question: str) -> tuple[str, Answer]:
        loaded = self.loaded  # a reload may replace it meanwhile: one config for the whole answer
        return self.assistant.ask(loaded.daemon.claude, loaded.session, question)

    def flatten(self) -> list[str]:
        with self.lock:
            run = self.day_run
            if run is None or run.pipeline is None or self.system.state is not SystemState.RUNNING:
                raise StateError("no session is running")
            return [o.client_order_id for o in run.pipeline.execution.flatten(self.app.clock.now())
                    if o.status not in (OrderStatus.REFUSED, OrderStatus.REJECTED)]
