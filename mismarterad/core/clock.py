"""The clock boundary: every reading of "now" in the project goes through a Clock.

`SystemClock` reads the machine's clock (live mode). `SimClock` only moves when told to
(backtests, tests). Both return aware UTC datetimes; TimeManager converts to market time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SimClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """A source of aware-UTC instants that threads can also wait on."""

    def now(self) -> datetime: ...

    def sleep_until(self, t_utc: datetime, stop: threading.Event) -> bool:
        """Block until the clock reaches `t_utc`; False if `stop` was set first."""
        ...


class SystemClock:
    """The machine's real-time clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, t_utc: datetime, stop: threading.Event) -> bool:
        while True:
            remaining = (t_utc - self.now()).total_seconds()
            if remaining <= 0:
                return not stop.is_set()
            if stop.wait(min(remaining, 1.0)):
                return False


class SimClock:
    """A clock that stands still until `set` moves it; used by backtests.

    Moving backwards is refused: a backtest's time only advances.
    """

    def __init__(self, start_utc: datetime) -> None:
        _require_aware(start_utc)
        self._now = start_utc
        self._changed = threading.Condition()

    def now(self) -> datetime:
        return self._now

    def set(self, t_utc: datetime) -> None:
        _require_aware(t_utc)
        with self._changed:
            if t_utc < self._now:
                raise ValueError(f"simulated time cannot go back: {t_utc} < {self._now}")
            self._now = t_utc
            self._changed.notify_all()

    def sleep_until(self, t_utc: datetime, stop: threading.Event) -> bool:
        with self._changed:
            while self._now < t_utc:
                if stop.is_set():
                    return False
                self._changed.wait(0.05)
        return not stop.is_set()


def _require_aware(t: datetime) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"clock instants must be time-zone aware, got naive {t!r}")

