"""How the Daemon plans, starts, restarts and stops its day-runs.

Part of Daemon (a mixin: its state is the daemon's, set in its __init__; what changes the
day-run runs under its lock): the scheduler's start and stop jobs, a day-run started for the
day (the session config's strategies resolved again, the venue a reload changed taken now),
stopped with its report written, and restarted with backoff after a failure, resuming the day
from the order journal.
"""

from __future__ import annotations

import time
from datetime import date

import structlog

from mismarterad.config.session_config import SessionConfig
from mismarterad.core.enums import SystemState
from mismarterad.core.errors import ConfigError
from mismarterad.core.reconciliation import ReconcilePolicy
from mismarterad.daemon.planning import SessionPlanner
from mismarterad.managers.reconciler import ReconcileSettings
from mismarterad.runs.day_run import DayRun, Observers, ShutdownPolicy
from mismarterad.runs.strategy_loading import resolve_strategies
from mismarterad.services.session_plan import SessionWindow

__all__ = ["DayRunsMixin"]

log = structlog.get_logger(component="daemon")


class DayRunsMixin:
    # -- planning and sessions -------------------------------------------------------------

    def _planner(self) -> SessionPlanner:
        d = self.loaded.daemon  # a reload may change lead and lag: read them at each use
        return SessionPlanner(self._time_manager, d.lead_minutes, d.lag_minutes)

    def upcoming_windows(self, count: int) -> list[SessionWindow]:
        return self._planner().upcoming(self.app.clock.now(), count)

    def _plan(self) -> None:
        """Plan the next window; one in progress starts at once (catch-up) unless already running."""
        planner, now = self._planner(), self.app.clock.now()
        window = planner.next(now, self.done_day)
        running = self.day_run is not None and window is not None and self.day_run.day == window.day
        # the window after it: the next start once this one has begun (status never shows a past start)
        self.following = planner.next(now, window.day) if window is not None else None
        self.scheduler.plan(window, start=not running)

    def _start_job(self, day: date) -> None:
        with self.lock:
            try:
                planned = self.scheduler.planned
                if self.shutting_down or self.day_run is not None or day == self.done_day:
                    log.info("session_start_skipped", day=day.isoformat(), running=bool(self.day_run))
                    return
                if planned is None or planned.day != day or self.app.clock.now() >= planned.stop_utc:
                    log.warning("session_start_too_late", day=day.isoformat(), reason="its window has ended")
                    self._plan()
                    return
                self.session_active = True
                self.restarts = 0
                self._start_session(day, self.loaded.session)
            except Exception as exc:  # noqa: BLE001 - a job error must never leave the daemon unplanned
                log.error("start_job_failed", day=day.isoformat(), error=f"{type(exc).__name__}: {exc}")

    def _stop_job(self, day: date) -> None:
        with self.lock:
            try:
                if self.day_run is not None and self.day_run.day != day:
                    log.warning("session_stop_skipped", day=day.isoformat(), running=self.day_run.day.isoformat())
                    return
                if self.day_run is not None:
                    self._finish_session(self.loaded.daemon.on_shutdown, drain=True)
                self.session_active = False
                self.done_day = day
                self._plan()
            except Exception as exc:  # noqa: BLE001
                log.error("stop_job_failed", day=day.isoformat(), error=f"{type(exc).__name__}: {exc}")

    def _replan_if_idle(self) -> None:
        """If planning ever failed (database, calendar), keep trying until a window is planned."""
        if self.scheduler.has_jobs() or self.shutting_down or time.monotonic() < self._next_replan:
            return
        self._next_replan = time.monotonic() + 30.0
        with self.lock:
            if self.day_run is None:
                log.warning("replanning", reason="no session job is planned")
                self._plan()

    def _start_session(self, day: date, config: SessionConfig) -> None:
        self._restart_at = None
        self.day_run = None
        try:
            strategies = resolve_strategies(config, self.loaded.daemon.session_config.parent)
        except ConfigError as exc:  # the file changed on disk since it was checked
            log.error("session_start_failed", day=day.isoformat(), error=str(exc))
            self._after_failure()
            return
        if self._next_venue is not None:
            self.venue, self._next_venue = self._next_venue, None
        run = DayRun(self.app, self.system, self._time_manager, config, strategies, self.venue, day,
                     self.reports_dir, self.kill_switch.state is not None,
                     Observers(self.metrics.observe_loop, self.metrics.decision_latency.observe),
                     daemon_risk=self.loaded.daemon.risk,
                     reconcile=ReconcileSettings(ReconcilePolicy(self.loaded.daemon.reconcile_policy),
                                                 self.loaded.daemon.reconcile_every_minutes))
        self.day_run = run
        try:
            run.start()
        except Exception:  # noqa: BLE001 - a failed start is retried like a failed session
            log.error("session_start_failed", day=day.isoformat(), error=run.start_error)
            self._after_failure()

    def _finish_session(self, policy: ShutdownPolicy, *, drain: bool, final: bool = True) -> None:
        """Stop the day-run and write its report. `final=False` (a restart) leaves the order
        totals alone: the restarted run resumes the day with its orders and fills."""
        run = self.day_run
        assert run is not None
        try:
            if run.built:
                path = run.stop(policy, drain=drain)
                if run.pipeline is not None:
                    status = run.pipeline.execution.reconciliation_status()
                    if status is not None:  # each run's differences are its own: always added
                        self.totals.add_reconciliation(status)
                    if final:
                        self.totals.add(run.pipeline.execution)
                if final:
                    self.assistant.review_later(self.loaded.daemon.claude, run.config, path)
            else:
                path = run.write_failure_report(run.start_error or self.system.error or "the session never started")
            self.last_report = {"date": run.day.isoformat(), "path": str(path)}
        except Exception as exc:  # noqa: BLE001 - the daemon outlives a failed report
            log.error("session_stop_failed", day=run.day.isoformat(), error=f"{type(exc).__name__}: {exc}")
        finally:
            self.day_run = None

    def _supervise(self) -> None:
        with self.lock:
            run = self.day_run
            if run is None or not self.session_active:
                return
            if self.system.state is SystemState.ERROR and self._restart_at is None:
                self._after_failure()
            if self._restart_at is not None and time.monotonic() >= self._restart_at and not self.shutting_down:
                self.restarts += 1
                log.warning("session_restarting", day=run.day.isoformat(), attempt=self.restarts)
                # the new run resumes the day from the journal: the failed run's orders stay
                # working and are adopted by id, its positions are the new run's
                self._finish_session("leave", drain=False, final=False)
                self._start_session(run.day, run.config)
            elif self.day_run is not None and run.built and time.monotonic() >= self._next_persist:
                self._next_persist = time.monotonic() + 1.0
                try:
                    run.persist()
                except Exception as exc:  # noqa: BLE001 - the database may be briefly away
                    log.error("persist_failed", error=f"{type(exc).__name__}: {exc}")

    def _after_failure(self) -> None:
        self.failures += 1
        limit, backoff = self.loaded.daemon.max_session_restarts, self.loaded.daemon.restart_backoff_seconds
        if self.restarts >= limit:
            log.error("session_given_up", error=self.system.error, restarts=self.restarts,
                      reason="restart limit reached; waiting for the next trading day")
            self._restart_at = float("inf")
            return
        delay = backoff * 2 ** self.restarts
        log.error("session_failed", error=self.system.error, restart_in_secs=delay)
        self._restart_at = time.monotonic() + delay
