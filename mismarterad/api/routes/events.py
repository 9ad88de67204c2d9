"""Server-sent events: fills, halts, state changes, the status each second, P&L points and audit rows.

The stream starts with the current status (so a console draws at once), then sends each event
of the hub (api/event_hub.py) as `id`, `event` and a JSON `data` line. A reconnecting client's
`Last-Event-ID` resumes after that event; when events it should have had are gone from the ring
(a long absence, or a client too slow), a `gap` event says how many, and the client reloads what
it shows. The token is checked again every few seconds: a revoked or expired one ends the
stream with `signed_out`. This is one of the route handlers that may be async:
it waits with the event loop's sleep, so a hundred open consoles hold no threads.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from mismarterad.api.auth_service import NotAuthenticated
from mismarterad.api.context import ApiContext, context
from mismarterad.api.security import SignedIn
from mismarterad.core.json_values import finite_json

__all__ = ["router"]

router = APIRouter(tags=["events"])

POLL_SECS = 0.2
KEEPALIVE_SECS = 15.0
RECHECK_SECS = 5.0


def _frame(event_id: str | None, kind: str, data: object) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(finite_json(data), default=str, allow_nan=False)}\n\n"


async def _stream(ctx: ApiContext, request: Request, token: str, after: int) -> AsyncIterator[str]:
    yield "retry: 2000\n\n" + _frame(None, "status", await run_in_threadpool(ctx.status))
    seq, quiet_since, checked = after, time.monotonic(), time.monotonic()
    while not ctx.hub.closed:
        events = ctx.hub.since(seq)
        if events and events[0].seq > seq + 1:
            yield _frame(None, "gap", {"missed": events[0].seq - seq - 1})
        for event in events:
            seq = event.seq
            yield _frame(ctx.hub.event_id(event.seq), event.kind, event.data)
        now = time.monotonic()
        if events:
            quiet_since = now
        elif now - quiet_since >= KEEPALIVE_SECS:
            quiet_since = now
            yield ": keepalive\n\n"
        if now - checked >= RECHECK_SECS:
            checked = now
            try:
                await run_in_threadpool(ctx.auth.authenticate, token)
            except NotAuthenticated as exc:
                yield _frame(None, "signed_out", {"reason": str(exc)})
                return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_SECS)


@router.get("/events", summary="server-sent events: fills, halts, state changes, status, P&L, audit, gap",
            response_class=StreamingResponse)
async def events(request: Request, who: SignedIn,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None) -> StreamingResponse:
    ctx = context(request)
    after = ctx.hub.resume_after(last_event_id)
    token = request.headers["authorization"].partition(" ")[2].strip()
    return StreamingResponse(_stream(ctx, request, token, after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
