"""A request's raw body as a FastAPI dependency (reading it is a coroutine of Starlette's), so the
application can read the body after the dependencies that check the caller, where it chooses."""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["body_bytes"]


async def body_bytes(request: Request) -> bytes:
    return await request.body()  # the request guard has capped its size
