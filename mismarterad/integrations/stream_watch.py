"""What one venue stream went through (authorized, lost, refused, reconnected), read from any
thread; and the backoff every stream reconnects with (exponential, with jitter)."""

from __future__ import annotations

import threading

import structlog

from mismarterad.integrations.retry_policy import RetryPolicy

__all__ = ["RECONNECT_BACKOFF", "StreamWatch"]

log = structlog.get_logger(component="venue_streams")

RECONNECT_BACKOFF = RetryPolicy(max_attempts=1, initial_backoff_secs=0.5, max_backoff_secs=30.0, jitter_secs=0.5)


class StreamWatch:
    """What one stream went through: read from any thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Condition()
        self._connects = 0
        self._connected = False
        self._auth_error: str | None = None

    def authorized(self) -> None:
        with self._lock:
            self._connects += 1
            self._connected = True
            self._auth_error = None
            self._lock.notify_all()
        log.info("stream_authorized", stream=self.name, reconnects=self.reconnects)

    def refused(self, reason: str) -> None:
        with self._lock:
            self._connected = False
            self._auth_error = reason
            self._lock.notify_all()
        log.error("stream_auth_refused", stream=self.name, reason=reason)

    def lost(self) -> None:
        with self._lock:
            was, self._connected = self._connected, False
        if was:
            log.warning("stream_disconnected", stream=self.name)

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def reconnects(self) -> int:
        return max(0, self._connects - 1)

    @property
    def auth_error(self) -> str | None:
        return self._auth_error

    def wait_outcome(self, timeout_secs: float) -> bool:
        """Wait (real time) until the stream is authorized or refused; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._connected or self._auth_error is not None, timeout_secs)
