"""The clock boundary: every reading of "now" in the project goes through a Clock.

`SystemClock` reads the machine's clock (live mode). `SimClock` only moves when told to
(backtests, tests). `ReplayClock` starts at a chosen instant and runs `speed` times faster than
real time (dress rehearsals of a live day). All return aware UTC datetimes; TimeManager
converts to market time. `real_delay` tells schedulers how long to really wait for an instant.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ReplayClock", "SimClock", "SystemClock"]

_MAX_WAIT_SLICE_SECS = 0.25  # waits wake up this often to check their stop event


@runtime_checkable
class Clock(Protocol):
    """A source of aware-UTC instants that threads can also wait on."""

    def now(self) -> datetime: ...

    def sleep_until(self, t_utc: datetime, stop: threading.Event) -> bool:
        """Block until the clock reaches `t_utc`; False if `stop` was set first."""
        ...

    def real_delay(self, t_utc: datetime) -> float:
        """Real seconds until the clock reads `t_utc` (what a scheduler must wait)."""
        ...


class SystemClock:
    """The machine's real-time clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_delay(self, t_utc: datetime) -> float:
        """Real seconds until the clock reads `t_utc` (negative if it has passed)."""
        return (t_utc - self.now()).total_seconds()

    def sleep_until(self, t_utc: datetime, stop: threading.Event) -> bool:
        return _sleep_until(self, t_utc, stop)


class ReplayClock:
    """Reads `start_utc` at its `anchor` and runs `speed` times faster than the machine's
    monotonic clock.

    The anchor is a wall-clock instant (Unix seconds); without one it is the clock's creation.
    Two processes given the same start, speed and anchor read the same time however long each
    took to start: a daemon rehearsing against an emulator then trades in the emulator's
    minute, as a live daemon trades in the broker's, instead of trailing it by its own start-up
    (which at 600x is minutes of market time)."""

    def __init__(self, start_utc: datetime, speed: float, *, anchor: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        _require_aware(start_utc)
        if speed <= 0:
            raise ValueError(f"replay speed must be > 0, got {speed}")
        self._start = start_utc.astimezone(UTC)
        self._speed = speed
        self._monotonic = monotonic
        # the monotonic reading the anchor stands for: wall and monotonic are read once, here
        self._t0 = monotonic() - (0.0 if anchor is None else wall() - anchor)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(self._monotonic() - self._t0) * self._speed)

    def real_delay(self, t_utc: datetime) -> float:
        return (t_utc - self.now()).total_seconds() / self._speed

    def sleep_until(self, t_utc: datetime, stop: threading.Event) -> bool:
        return _sleep_until(self, t_utc, stop)


def _sleep_until(clock: SystemClock | ReplayClock, t_utc: datetime, stop: threading.Event) -> bool:
    while True:
        remaining = clock.real_delay(t_utc)
        if remaining <= 0:
            return not stop.is_set()
        if stop.wait(min(remaining, _MAX_WAIT_SLICE_SECS)):
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

    def real_delay(self, t_utc: datetime) -> float:
        """A simulated clock has no real pace: an instant is due now or never by itself."""
        return 0.0 if t_utc <= self._now else float("inf")

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

