"""The lanes of worker threads: a full lane queues a few requests and answers busy (503) past
that, at once and without a thread; another lane's work runs meanwhile."""

from __future__ import annotations

import threading

import anyio
import pytest

from mismarterad.api.errors import ApiError
from mismarterad.api.thread_lanes import Lane


def test_a_full_lane_queues_a_few_answers_busy_past_them_and_leaves_other_lanes_free() -> None:
    login, control = Lane("login", threads=1, waiting=1), Lane("control", threads=1, waiting=None)
    release, done = threading.Event(), []

    def slow(name: str) -> None:
        release.wait(30)
        done.append(name)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(login.run, lambda: slow("first"))
            await anyio.wait_all_tasks_blocked()
            group.start_soon(login.run, lambda: slow("queued"))
            await anyio.wait_all_tasks_blocked()
            with pytest.raises(ApiError) as busy:
                await login.run(lambda: done.append("refused"))
            assert busy.value.status == 503 and busy.value.code == "busy"
            assert busy.value.headers == {"Retry-After": "2"}
            assert await control.run(lambda: "halted") == "halted", "a halt does not wait behind logins"
            release.set()

    anyio.run(main)
    assert sorted(done) == ["first", "queued"]
