"""The events the console follows (`GET /api/v1/events`): a numbered ring of the newest ones.

Publishers (the snapshot watcher's thread, the control routes) append; each server-sent-events
stream reads what came after the last number it sent, so a slow or reconnecting client (its
`Last-Event-ID`) misses nothing still in the ring, and no publisher ever waits for a client.

An event's id is `<epoch>-<number>`: the epoch is drawn when the hub is made, once per daemon
start, because the numbers start again at 1. An id of another epoch (from before a restart) or
one not yet given resumes from now, never from a number this hub will reach only later.
"""

from __future__ import annotations

import secrets
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
        self.epoch = secrets.token_hex(4)
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
        newer = []
        with self._lock:
            for event in reversed(self._ring):  # from the newest: a caught-up stream looks at one event
                if event.seq <= seq:
                    break
                newer.append(event)
        return newer[::-1]

    def event_id(self, seq: int) -> str:
        return f"{self.epoch}-{seq}"

    def resume_after(self, last_event_id: str | None) -> int:
        """The number a stream starts after: the client's `Last-Event-ID` if this hub gave it, else now."""
        epoch, _, seq = (last_event_id or "").partition("-")
        with self._lock:
            if epoch == self.epoch and seq.isdigit() and int(seq) <= self._seq:
                return int(seq)
            return self._seq

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
