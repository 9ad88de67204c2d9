"""The events the console follows (`GET /api/v1/events`): a numbered ring of the newest ones.

Publishers (the snapshot watcher's thread, the control routes) append; each server-sent-events
stream reads what came after the last number it sent, so a slow or reconnecting client (its
`Last-Event-ID`) misses nothing still in the ring, and no publisher ever waits for a client.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["ApiEvent", "EventHub"]

RING_SIZE = 2000


@dataclass(frozen=True, slots=True)
class ApiEvent:
    seq: int
    kind: str  # "status", "state", "halt", "fill", "pnl", "audit"
    data: dict[str, Any]


class EventHub:
    def __init__(self, size: int = RING_SIZE) -> None:
        self._ring: deque[ApiEvent] = deque(maxlen=size)
        self._seq = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            self._ring.append(ApiEvent(self._seq, kind, data))

    def since(self, seq: int) -> list[ApiEvent]:
        """The events numbered after `seq`, oldest first (those still in the ring)."""
        with self._lock:
            if not self._ring or self._ring[-1].seq <= seq:
                return []
            return [e for e in self._ring if e.seq > seq]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def close(self) -> None:
        """Ends every stream (the daemon is stopping)."""
        self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()
