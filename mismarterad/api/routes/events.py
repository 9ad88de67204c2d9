"""Server-sent events: fills, halts, state changes, the status each second, P&L points and audit rows.

The stream starts with the current status (so a console draws at once), then sends each event
of the hub (api/event_hub.py) as `id`, `event` and a JSON `data` line. A reconnecting client's
`Last-Event-ID` resumes after that event; when events it should have had are gone from the ring
(a long absence, or a client too slow), a `gap` event says how many, and the client reloads what
it shows. The token is checked again every few seconds: a revoked or expired one ends the
stream with `signed_out`. A stream is a `_Feed` polled every POLL_SECS in the `events` lane
(integrations/http_server/event_stream.py): between polls it holds no thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from mismarterad.api.auth_service import NotAuthenticated
from mismarterad.api.context import ApiContext, context
from mismarterad.api.security import SignedIn
from mismarterad.core.json_values import finite_json
from mismarterad.integrations.http_server.event_stream import event_stream

__all__ = ["router"]

router = APIRouter(tags=["events"])

POLL_SECS = 0.2
KEEPALIVE_SECS = 15.0
RECHECK_SECS = 5.0


def _frame(event_id: str | None, kind: str, data: object) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(finite_json(data), default=str, allow_nan=False)}\n\n"


class _Feed:
    """One stream: each call gives the frames due since the last and whether the stream goes on."""

    def __init__(self, ctx: ApiContext, token: str, after: int) -> None:
        self._ctx, self._token, self._seq = ctx, token, after
        self._started = False
        self._quiet_since = self._checked = 0.0

    def __call__(self) -> tuple[Sequence[str], bool]:
        frames: list[str] = []
        if not self._started:
            frames.append("retry: 2000\n\n" + _frame(None, "status", self._ctx.status()))
            self._started, self._quiet_since, self._checked = True, time.monotonic(), time.monotonic()
        hub = self._ctx.hub
        if hub.closed:
            return frames, False
        events = hub.since(self._seq)
        if events and events[0].seq > self._seq + 1:
            frames.append(_frame(None, "gap", {"missed": events[0].seq - self._seq - 1}))
        for event in events:
            self._seq = event.seq
            frames.append(_frame(hub.event_id(event.seq), event.kind, event.data))
        now = time.monotonic()
        if events:
            self._quiet_since = now
        elif now - self._quiet_since >= KEEPALIVE_SECS:
            self._quiet_since = now
            frames.append(": keepalive\n\n")
        if now - self._checked >= RECHECK_SECS:
            self._checked = now
            try:
                self._ctx.auth.authenticate(self._token)
            except NotAuthenticated as exc:
                frames.append(_frame(None, "signed_out", {"reason": str(exc)}))
                return frames, False
        return frames, True


@router.get("/events", summary="server-sent events: fills, halts, state changes, status, P&L, audit, gap",
            response_class=StreamingResponse)
def events(request: Request, who: SignedIn,
           last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None) -> StreamingResponse:
    ctx = context(request)
    token = request.headers["authorization"].partition(" ")[2].strip()
    return event_stream(request, _Feed(ctx, token, ctx.hub.resume_after(last_event_id)), POLL_SECS, "events")
