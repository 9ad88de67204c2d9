"""The thread that watches the daemon for the console: it looks at a fresh `DaemonSnapshot` four
times a second and publishes what changed (api/snapshot_changes.py), the status once a second,
and a point of today's P&L curve for each market minute that passes (the P&L, a pass over the
day's fills, is worked out once per market minute, not at every look).

It reads only `DaemonControl.snapshot()`, never the daemon's fields; the curve lives here, in
memory, so a console opened mid-session draws the day from the API's start (a daemon restart
starts a new curve).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from mismarterad.api.event_hub import EventHub
from mismarterad.api.snapshot_changes import Seen, changes
from mismarterad.daemon.control import DaemonControl
from mismarterad.daemon.views import pnl_view

__all__ = ["SnapshotWatch"]

log = structlog.get_logger(component="api_events")

LOOK_SECS = 0.25
STATUS_SECS = 1.0
MAX_POINTS = 24 * 60  # one per market minute: a whole day, extended hours included


class SnapshotWatch:
    def __init__(self, control: DaemonControl, status: Callable[[], dict[str, Any]], hub: EventHub) -> None:
        self._control, self._status, self._hub = control, status, hub
        self._seen: Seen | None = None
        self._points: list[dict[str, Any]] = []
        self._points_day: str | None = None
        self._minute_seen: int | None = None
        self._next_status = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="api-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def series(self) -> list[dict[str, Any]]:
        """Today's P&L curve so far: one point per market minute seen."""
        with self._lock:
            return list(self._points)

    def _loop(self) -> None:
        while not self._stop.wait(LOOK_SECS):
            try:
                self._look()
            except Exception as exc:  # noqa: BLE001 - one bad look never ends the console's events
                log.error("api_events_failed", error=f"{type(exc).__name__}: {exc}")

    def _look(self) -> None:
        s = self._control.snapshot()
        self._seen, events = changes(self._seen, s)
        for kind, data in events:
            self._hub.publish(kind, data)
        minute = int(s.clock_utc.timestamp()) // 60 * 60
        if minute != self._minute_seen:
            self._minute_seen = minute
            self._add_point(minute, pnl_view(s))
        if events or time.monotonic() >= self._next_status:
            self._next_status = time.monotonic() + STATUS_SECS
            self._hub.publish("status", self._status())

    def _add_point(self, minute_unix: int, pnl: dict[str, Any]) -> None:
        day = pnl["date"]
        if day is None or not pnl["equity"]:  # no day-run, or the broker has not reported an account yet
            return
        total = pnl["strategies"][-1]  # the view's last row sums the strategies'
        point = {"t": minute_unix, "equity": pnl["equity"], **{k: total[k] for k in ("realized", "unrealized", "total")}}
        with self._lock:
            if day != self._points_day:
                self._points, self._points_day = [], day
            if self._points and self._points[-1]["t"] >= minute_unix:
                return
            self._points = (self._points + [point])[-MAX_POINTS:]
        self._hub.publish("pnl", point)
