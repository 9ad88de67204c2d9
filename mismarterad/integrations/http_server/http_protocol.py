"""uvicorn's HTTP/1.1 protocol (h11) with the two limits it lacks, so that idle or half-sent
connections cannot use up the file descriptors the process shares with its other work (a
database, broker connections, a journal):

- at most `max_connections` connections are open: one more is closed as soon as it is accepted;
- a request must arrive whole, headers and body, within `request_timeout_secs` of the
  connection opening or of the previous answer's end; a stalled client is disconnected.
  A request being answered (an event stream, say) is not timed.

It reaches into uvicorn's H11Protocol (pinned in pyproject.toml): its `connections` set, its
h11 connection `conn` and the `on_response_complete` hook.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import h11
import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ConnectionLimits", "limited_protocol"]

log = structlog.get_logger(component="api")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int = 256
    request_timeout_secs: float = 10.0


def limited_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (its `http` setting)."""

    class LimitedH11Protocol(H11Protocol):
        full = False  # the last connection was refused for the cap: logged once until one is accepted again

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                if not LimitedH11Protocol.full:
                    log.warning("api_connections_full", limit=limits.max_connections, peer=(self.client or ("?",))[0])
                LimitedH11Protocol.full = True
                transport.abort()
                return
            LimitedH11Protocol.full = False
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request too must come whole in time

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(limits.request_timeout_secs, self._late)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _late(self) -> None:
            self._deadline = None
            if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
                self.transport.close()

    return LimitedH11Protocol
