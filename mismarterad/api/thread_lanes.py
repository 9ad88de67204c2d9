"""The worker threads the routes run in, split in lanes so that no kind of work crowds out another.

Plain route functions run in anyio's worker threads, all sharing one limiter of 40 by default.
Three kinds of work get a lane of their own:

- `login`: each password check is argon2id (64 MiB and about a quarter of a second); two run at
  once with up to 16 waiting, and past that a login is answered 503 at once. An operator's
  login waits its turn under a flood of guesses, and the daemon's memory stays bounded.
- `bars`: a market-data read is up to MAX_BAR_ROWS rows; two at once, four waiting.
- `control`: start, stop, halt, resume, flatten, reload never wait behind reads or logins.

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

from mismarterad.api.errors import ApiError, retry_after_header

__all__ = ["Lane", "default_lanes", "in_lane"]

P = ParamSpec("P")
T = TypeVar("T")
BUSY_RETRY_SECS = 2.0


class Lane:
    def __init__(self, name: str, threads: int, waiting: int | None) -> None:
        """`waiting`: how many requests may wait for a thread (None: any number)."""
        self.name, self._threads, self._waiting = name, threads, waiting
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, work: Callable[[], T]) -> T:
        """`work` in one of this lane's threads; 503 when the lane is full."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._threads)
        if self._waiting is not None and self._limiter.statistics().tasks_waiting >= self._waiting:
            raise ApiError(503, "busy", f"too many {self.name} requests at once; try again in a few seconds",
                           headers=retry_after_header(BUSY_RETRY_SECS))
        return await anyio.to_thread.run_sync(work, limiter=self._limiter)


def default_lanes() -> dict[str, Lane]:
    return {"login": Lane("login", 2, 16), "bars": Lane("bars", 2, 4), "control": Lane("control", 4, None)}


def in_lane(name: str) -> Callable[[Callable[P, T]], Callable[P, Awaitable[T]]]:
    """Run a route function in the lane `name` of its app (the function takes `request`)."""

    def wrap(route: Callable[P, T]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(route)
        async def endpoint(*args: P.args, **kwargs: P.kwargs) -> T:
            request: Any = kwargs["request"]
            lane: Lane = request.app.state.lanes[name]
            return await lane.run(functools.partial(route, *args, **kwargs))

        return endpoint

    return wrap
