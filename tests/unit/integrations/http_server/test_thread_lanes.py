"""The lanes of worker threads: a full lane queues a few requests and refuses more (LaneFull) at
once and without a thread; another lane's work runs meanwhile."""

from __future__ import annotations

import threading

import anyio
import pytest

from mismarterad.integrations.http_server.lanes import Lane, LaneFull


def test_a_full_lane_queues_a_few_refuses_more_and_leaves_other_lanes_free() -> None:
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
            with pytest.raises(LaneFull) as full:
                await login.run(lambda: done.append("refused"))
            assert full.value.lane == "login"
            assert await control.run(lambda: "halted") == "halted", "a halt does not wait behind logins"
            release.set()

    anyio.run(main)
    assert sorted(done) == ["first", "queued"]
