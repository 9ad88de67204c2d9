"""systemd notifications (sd_notify): READY, STATUS, WATCHDOG, STOPPING.

Without `$NOTIFY_SOCKET` (not started by systemd) every call is a no-op, so the daemon runs
the same by hand, in tests and under systemd. The watchdog's interval is systemd's, never
ours: `$WATCHDOG_USEC` (the unit's `WatchdogSec=`) for this process (`$WATCHDOG_PID`, when
set, must be our pid), and the main loop pings at half of it, as sd_watchdog_enabled(3)
advises. Without it the watchdog is off and nothing is pinged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

import sdnotify
import structlog

__all__ = ["Notifier", "watchdog_ping_secs"]

log = structlog.get_logger(component="notify")


def watchdog_ping_secs(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between WATCHDOG=1 pings: half of `$WATCHDOG_USEC`. None when no watchdog is set
    for this process (no variable, or `$WATCHDOG_PID` names another one); ValueError naming the
    variable when its value is not a positive whole number."""
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None
    if not usec.isdigit() or int(usec) == 0:
        raise ValueError(f"WATCHDOG_USEC: expected a positive whole number of microseconds, got {usec[:40]!r}")
    return int(usec) / 2_000_000


class Notifier:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._notifier = sdnotify.SystemdNotifier() if self.enabled else None
        self._last_status = ""
        self._monotonic = monotonic
        self._next_ping = 0.0
        self.watchdog_secs: float | None = None  # between pings; None: the watchdog is off
        if self.enabled:
            try:
                self.watchdog_secs = watchdog_ping_secs(os.environ, os.getpid())
            except ValueError as exc:
                log.warning("watchdog_disabled", reason=str(exc))
            else:
                if self.watchdog_secs is not None:
                    log.info("watchdog_enabled", ping_every_secs=self.watchdog_secs)
                else:
                    log.info("watchdog_disabled", reason="no WATCHDOG_USEC for this process (WatchdogSec= unset, "
                                                         "or WATCHDOG_PID names another process)")

    def poll_secs(self, at_most: float) -> float:
        """How long the caller may wait between `watchdog()` calls: `at_most`, or less for a
        short WatchdogSec, so that a ping is never later than 3/4 of the interval."""
        return at_most if self.watchdog_secs is None else min(at_most, self.watchdog_secs / 2)

    def ready(self) -> None:
        self._send("READY=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def reloading(self) -> None:
        self._send("RELOADING=1")

    def watchdog(self) -> None:
        """The daemon is healthy: ping, if half the interval has passed since the last ping."""
        if self.watchdog_secs is None:
            return
        now = self._monotonic()
        if now >= self._next_ping:
            self._next_ping = now + self.watchdog_secs
            self._send("WATCHDOG=1")

    def status(self, line: str) -> None:
        line = line.replace("\n", " ")
        if line != self._last_status:
            self._last_status = line
            self._send(f"STATUS={line}")

    def _send(self, message: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(message)
