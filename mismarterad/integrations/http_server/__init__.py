"""Serving an ASGI application (FastAPI) from a program made of threads: the one place of the
REST API where asyncio runs.

uvicorn runs its event loop in a thread of its own (`uvicorn_thread.py`), as the broker stream
adapters run their library's loop; everything else here is what that loop needs to call plain,
synchronous application code without holding a thread per request: route functions run in
lanes of worker threads (`lanes.py`), an event stream polls a plain function between sleeps on
the loop (`event_stream.py`), exception handlers and the request guard answer with responses
that plain functions build (`error_handlers.py`, `request_guard.py`), connections are capped and
timed (`http_protocol.py`), and a body is read after the dependencies that check the caller
(`request_body.py`). The package knows nothing of the daemon: `mismarterad/api/` builds its
application through it. Its modules are imported only by that application, so FastAPI and
uvicorn load only when the daemon serves the API.
"""

__all__: list[str] = []
