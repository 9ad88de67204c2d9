"""systemd notifications (sd_notify): READY, STATUS, WATCHDOG, STOPPING.

Without `$NOTIFY_SOCKET` (not started by systemd) every call is a no-op, so the daemon runs
the same by hand, in tests and under systemd.
"""

from __future__ import annotations

import os

import sdnotify
import structlog

__all__ = ["Notifier"]

log = structlog.get_logger(component="notify")


class Notifier:
    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._notifier = sdnotify.SystemdNotifier() if self.enabled else None
        self._last_status = ""

    def ready(self) -> None:
        self._send("READY=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def reloading(self) -> None:
        self._send("RELOADING=1")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def status(self, line: str) -> None:
        line = line.replace("\n", " ")
        if line != self._last_status:
            self._last_status = line
            self._send(f"STATUS={line}")

    def _send(self, message: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(message)
