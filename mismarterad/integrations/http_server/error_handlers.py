"""FastAPI's exception handlers from plain functions that build the response.

Starlette runs a handler that is not a coroutine in a worker thread: the answer to a full lane,
meant to come at once and without a thread, would then wait for one, as would every 404 and 422
while the shared threads are busy. So each function is wrapped in a coroutine that calls it on the
loop; it only builds a response (and may log a line).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["ResponseBuilder", "install_exception_handlers"]

ResponseBuilder = Callable[[Request, Any], Response]  # (request, the exception) -> the answer


def install_exception_handlers(app: FastAPI, builders: Mapping[type[Exception], ResponseBuilder]) -> None:
    """`builders[E]` answers an exception of class E (the nearest class up its MRO counts;
    `Exception` answers what none other takes, and Starlette then re-raises it)."""
    for exc_class, build in builders.items():
        app.add_exception_handler(exc_class, _on_loop(build))


def _on_loop(build: ResponseBuilder) -> Callable[[Request, Exception], Any]:
    async def handler(request: Request, exc: Exception) -> Response:
        return build(request, exc)

    return handler
