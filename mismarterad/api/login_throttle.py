"""Failed logins counted per user name and per client address over a sliding window.

Past either limit, logins of that name (or from that address) are refused with the seconds to
wait, even with the right password, so a guesser cannot go on. A successful login clears the
user's count, never the address's: one valid account must not reset a guesser's budget.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["LoginThrottle"]

_MAX_KEYS = 10_000  # a flood of distinct names or addresses cannot grow the tables without bound


class LoginThrottle:
    def __init__(self, per_user: int, per_address: int, window_secs: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._limits = {"user": per_user, "address": per_address}
        self._window = window_secs
        self._monotonic = monotonic
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, user: str, address: str) -> float | None:
        """Seconds until a login of `user` from `address` is heard again; None if it is heard now."""
        now = self._monotonic()
        waits = []
        with self._lock:
            for key in (("user", user), ("address", address)):
                times = self._recent(key, now)
                if len(times) >= self._limits[key[0]]:
                    waits.append(times[0] + self._window - now)
        return max(waits) if waits else None

    def failed(self, user: str, address: str) -> None:
        now = self._monotonic()
        with self._lock:
            if len(self._failures) >= _MAX_KEYS:
                self._prune(now)
            for key in (("user", user), ("address", address)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(("user", user), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
        while len(self._failures) >= _MAX_KEYS:  # all recent: forget the oldest keys
            del self._failures[next(iter(self._failures))]
