"""The sweep's engine: Ray, local (one machine, workers = cores) or an existing cluster (`address`).

Ray is imported here only, when a sweep runs, so no other command pays for it. Each task is one
`run_backtest_task` (runs/sweep_task.py; the worker logs warnings only) asking for one CPU; at
most `workers` are in flight at once, so `--workers` bounds a shared cluster too. A task whose worker dies (out of memory, a
node lost) is retried by Ray as usual; one that still fails becomes a failed outcome and the
others go on. A Ray this process already joined (a test session's) is used and left running.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Callable, Sequence
from types import TracebackType

from mismarterad.core.errors import MismarteradError
from mismarterad.runs.sweep_task import BacktestTask, TaskOutcome, quiet_logs, run_backtest_task

__all__ = ["LOCAL_OBJECT_STORE_BYTES", "RayPool", "RayUnavailableError"]

CONNECT_TIMEOUT_SECS = 10
#: a local Ray's object store: tasks return summaries of a few kilobytes and take no bars, so the
#: default (30% of the machine's memory) would only be memory taken from the backtests
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024


class RayUnavailableError(MismarteradError):
    """The Ray cluster named by `--address` could not be joined (or a local one started)."""


class RayPool:
    """Runs backtest tasks on Ray; use as a context manager."""

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self._requested = workers
        self.address = address
        self.workers = workers or os.cpu_count() or 1
        self._started = False
        self._remote: object | None = None

    def __enter__(self) -> RayPool:
        import ray

        if not ray.is_initialized():
            if self.address is not None:
                _check_reachable(self.address)
            try:
                if self.address is not None:
                    ray.init(address=self.address, log_to_driver=False, logging_level="WARNING")
                else:
                    ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                             logging_level="WARNING", object_store_memory=LOCAL_OBJECT_STORE_BYTES)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
                raise RayUnavailableError(f"cannot start or join {where}: {_first_line(exc)}") from None
            self._started = True
        if self._requested is None:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._remote = ray.remote(num_cpus=1)(_run_in_worker)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._started:
            import ray

            ray.shutdown()

    @property
    def version(self) -> str:
        import ray

        return str(ray.__version__)

    def run(self, tasks: Sequence[BacktestTask], on_done: Callable[[TaskOutcome], None]) -> list[TaskOutcome]:
        """Every task's outcome, in the order of `tasks`; `on_done` is called as each finishes."""
        import ray

        remote = self._remote
        assert remote is not None, "RayPool.run outside its `with` block"
        waiting = iter(enumerate(tasks))
        running: dict[object, int] = {}
        outcomes: dict[int, TaskOutcome] = {}

        def submit(count: int) -> None:
            for index, task in itertools.islice(waiting, count):
                running[remote.remote(task)] = index  # type: ignore[attr-defined]

        submit(self.workers)
        while running:
            [ready], _ = ray.wait(list(running), num_returns=1)
            index = running.pop(ready)
            try:
                outcome = ray.get(ready)
            except ray.exceptions.RayError as exc:
                outcome = TaskOutcome(tasks[index].key, None, (), f"the Ray task failed: {_first_line(exc)}")
            outcomes[index] = outcome
            on_done(outcome)
            submit(1)
        return [outcomes[i] for i in range(len(tasks))]


def _check_reachable(address: str) -> None:
    """Fail at once on a head that does not answer: Ray itself retries for minutes."""
    host, sep, port = address.rpartition(":")
    if address == "auto" or "://" in address or not sep or not port.isdigit():
        return  # Ray resolves these itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_SECS).close()
    except OSError as exc:
        raise RayUnavailableError(f"cannot join the Ray cluster at {address}: its head does not answer "
                                  f"({exc.strerror or type(exc).__name__}); expected HOST:PORT of a running "
                                  "`ray start --head`") from None


def _run_in_worker(task: BacktestTask) -> TaskOutcome:
    quiet_logs()
    return run_backtest_task(task)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
