"""An event stream over a plain poll function: each poll's text is sent in order, polls run in
the lane's worker threads (never the loop's), and the stream ends with the poll that says so."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from starlette.testclient import TestClient

from mismarterad.integrations.http_server.event_stream import event_stream
from mismarterad.integrations.http_server.lanes import Lane


def test_the_stream_sends_each_polls_frames_from_worker_threads_until_the_last() -> None:
    on_loop: list[bool] = []
    replies = iter([(["retry: 1\n\n", "event: a\ndata: 1\n\n"], True), ([], True), (["event: b\ndata: 2\n\n"], False)])

    def poll() -> tuple[Sequence[str], bool]:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # no loop runs in this thread: a worker's
            on_loop.append(False)
        return next(replies)

    app = FastAPI()
    app.state.lanes = {"events": Lane("events", 1, None)}

    @app.get("/events")
    def events(request: Request) -> StreamingResponse:
        return event_stream(request, poll, 0.01, "events")

    with TestClient(app) as client:
        reply = client.get("/events")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["cache-control"] == "no-store" and reply.headers["x-accel-buffering"] == "no"
    assert reply.text == "retry: 1\n\nevent: a\ndata: 1\n\nevent: b\ndata: 2\n\n"
    assert on_loop == [False, False, False]
