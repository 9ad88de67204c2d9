"""The worker threads plain route functions run in, split in lanes so that no kind of work crowds
out another.

A lane is a number of threads and a bound on the requests that may wait for one; past that
bound a request is refused at once with `LaneFull` (the application's handler answers it), without
taking a thread. Routes not in a lane run in anyio's worker threads, all sharing one limiter
of 40 by default. The application keeps its lanes by name on `app.state.lanes`.

A route joins a lane with `@in_lane("login")` (FastAPI then sees an async endpoint with the
route function's own signature). A waiting request is a coroutine in uvicorn's event loop, not a
thread. The limiters are made on first use, inside the loop that serves the app.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

__all__ = ["Lane", "LaneFull", "in_lane", "lane_of"]

P = ParamSpec("P")
T = TypeVar("T")


class LaneFull(Exception):
    """Every thread of the lane `lane` is busy and as many requests as it lets wait already do."""

    def __init__(self, lane: str) -> None:
        super().__init__(f"the {lane} lane is full")
        self.lane = lane


class Lane:
    def __init__(self, name: str, threads: int, waiting: int | None) -> None:
        """`waiting`: how many requests may wait for a thread (None: any number)."""
        self.name, self._threads, self._waiting = name, threads, waiting
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, work: Callable[[], T]) -> T:
        """`work` in one of this lane's threads; LaneFull when the lane is full."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._threads)
        if self._waiting is not None and self._limiter.statistics().tasks_waiting >= self._waiting:
            raise LaneFull(self.name)
        return await anyio.to_thread.run_sync(work, limiter=self._limiter)


def lane_of(request: Request, name: str) -> Lane:
    """The lane `name` of the app serving `request`."""
    return request.app.state.lanes[name]  # type: ignore[no-any-return]


def in_lane(name: str) -> Callable[[Callable[P, T]], Callable[P, Awaitable[T]]]:
    """Run a route function in the lane `name` of its app (the function takes `request`)."""

    def wrap(route: Callable[P, T]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(route)
        async def endpoint(*args: P.args, **kwargs: P.kwargs) -> T:
            request: Any = kwargs["request"]
            return await lane_of(request, name).run(functools.partial(route, *args, **kwargs))

        return endpoint

    return wrap
