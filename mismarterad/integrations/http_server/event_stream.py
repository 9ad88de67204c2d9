"""Server-sent events from synchronous code: a route returns `event_stream(request, poll, ...)`,
and `poll`, a plain function, is called in a worker thread of a lane every `every_secs`. Each
call returns the text to send now (whole frames, framed by the application) and whether the
stream goes on; the stream also ends when the client has gone. Between polls the stream is a
coroutine asleep on uvicorn's loop, so a hundred open streams hold no threads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

import anyio
from starlette.requests import Request
from starlette.responses import StreamingResponse

from mismarterad.integrations.http_server.lanes import Lane, lane_of

__all__ = ["Poll", "event_stream"]

Poll = Callable[[], tuple[Sequence[str], bool]]  # () -> (text to send, whether the stream goes on)


def event_stream(request: Request, poll: Poll, every_secs: float, lane: str) -> StreamingResponse:
    """A `text/event-stream` response, never cached nor buffered by a proxy, polling in `lane`."""
    return StreamingResponse(_chunks(request, poll, every_secs, lane_of(request, lane)),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _chunks(request: Request, poll: Poll, every_secs: float, lane: Lane) -> AsyncIterator[str]:
    while True:
        chunks, more = await lane.run(poll)
        for chunk in chunks:
            yield chunk
        if not more or await request.is_disconnected():
            return
        await anyio.sleep(every_secs)
