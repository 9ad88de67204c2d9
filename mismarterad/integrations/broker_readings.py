"""A live broker's account and positions readings, reused for a few seconds of real time.

The engine reads the account and positions often; each reading costs the venue a request. A
reading is reused while its TTL lasts and no event moved the broker's `version` (every fill,
submission and cancel moves it), so the reading after a fill is always fresh. A failed refresh
returns the last reading (`stale_ok`) rather than stopping the engine, except for refused
credentials, and (`stale_after_events=False`, positions) when an event came since it: a
comparison must not take an old reading for a new one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog

from mismarterad.core.errors import BrokerError
from mismarterad.integrations.broker_errors import BrokerAuthError

__all__ = ["BrokerReadings"]

log = structlog.get_logger(component="broker_readings")

T = TypeVar("T")


class BrokerReadings:
    """Cached readings under the broker's `lock`; `call(fetch, what)` makes the venue call (its
    retries and error translation)."""

    def __init__(self, lock: threading.Condition, ttl_secs: float, call: Callable[[Callable[[], Any], str], Any]) -> None:
        self._lock, self._ttl_secs, self._call = lock, ttl_secs, call
        self.version = 0  # moved (under the lock) by every event that may change cash or positions
        self._cache: dict[str, tuple[float, int, Any]] = {}

    def moved(self) -> None:
        """Cash or positions may have moved: no reading taken before is returned (call under the lock)."""
        self.version += 1

    def read(self, kind: str, fetch: Callable[[], T], what: str, *, stale_ok: bool = True, fresh: bool = False,
             stale_after_events: bool = True) -> T:
        """The `kind` reading (see the module docstring); `fresh` asks the venue whatever the cache holds."""
        with self._lock:
            version = self.version
            cached = self._cache.get(kind)
        if not fresh and cached is not None and cached[1] == version and cached[0] > time.monotonic():
            return cached[2]  # type: ignore[no-any-return]
        try:
            value: T = self._call(fetch, what)
        except BrokerError as exc:
            if (not stale_ok or cached is None or isinstance(exc, BrokerAuthError)
                    or (not stale_after_events and cached[1] != version)):
                raise
            log.warning("broker_snapshot_stale", what=what, error=str(exc))
            return cached[2]  # type: ignore[no-any-return]
        with self._lock:
            self._cache[kind] = (time.monotonic() + self._ttl_secs, version, value)
        return value
