"""The loop every session thread runs: take an item, hand it to `handle`, repeat.

A worker stops at the STOP sentinel (passing it on) or when the shared stop event is set.
Any exception ends the whole pipeline through `PipelineFailure` with the thread's name, so a
dying thread can never leave the others waiting forever.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import structlog

from mismarterad.core.read_model import ReadModel
from mismarterad.threads.messages import STOP

__all__ = ["PipelineFailure", "Worker", "put_or_stop"]

_POLL_SECS = 0.2


class PipelineFailure:
    """The first error of any thread; setting it sets the stop event for all of them."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._message: str | None = None

    def report(self, thread_name: str, exc: BaseException) -> None:
        with self._lock:
            if self._message is None:
                self._message = f"{thread_name} failed: {type(exc).__name__}: {exc}"
        self.stop_event.set()

    @property
    def message(self) -> str | None:
        return self._message


def put_or_stop(target: queue.Queue[Any], item: object, stop: threading.Event,
                beat: Callable[[], None] | None = None) -> bool:
    """Put with back-pressure; give up (False) if the pipeline is stopping. `beat` is called while
    waiting: a thread held up by a slow consumer is waiting, not stuck."""
    while not stop.is_set():
        if beat is not None:
            beat()
        try:
            target.put(item, timeout=_POLL_SECS)
            return True
        except queue.Full:
            continue
    return False


class Worker(threading.Thread):
    """Base of the session threads that consume an inbox. Progress (heartbeats, items handled)
    goes to the pipeline's ReadModel, never into fields that others read."""

    def __init__(self, name: str, inbox: queue.Queue[Any], failure: PipelineFailure, board: ReadModel,
                 observe_loop: Callable[[str, float], None] | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.inbox = inbox
        self.failure = failure
        self.board = board
        board.register_thread(name, inbox.qsize)
        self.observe_loop = observe_loop  # (thread name, seconds to handle one item), for metrics
        self.items_processed = 0
        self.log = structlog.get_logger(component=name)

    def start(self) -> None:
        self.board.thread_started(self.name)  # alive from here: the watchdog never sees a started thread as dead
        super().start()

    def run(self) -> None:
        self.log.info("thread_started")
        try:
            self.loop()
        except BaseException as exc:  # noqa: BLE001 - any failure must stop the pipeline
            self.log.error("thread_failed", error=f"{type(exc).__name__}: {exc}",
                           traceback=traceback.format_exc())
            self.failure.report(self.name, exc)
        finally:
            self.on_exit()
            self.board.thread_stopped(self.name)
            self.log.info("thread_stopped", items_processed=self.items_processed)

    def loop(self) -> None:
        stop = self.failure.stop_event
        while not stop.is_set():
            self.board.beat(self.name, self.items_processed)
            try:
                item = self.inbox.get(timeout=_POLL_SECS)
            except queue.Empty:
                continue
            if item is STOP:
                self.forward(STOP)
                return
            if self.observe_loop is None:
                self.handle(item)
            else:
                started = time.monotonic()
                self.handle(item)
                self.observe_loop(self.name, time.monotonic() - started)
            self.items_processed += 1

    def handle(self, item: object) -> None:
        raise NotImplementedError

    def beat(self) -> None:
        """Show progress (the watchdog's heartbeat); called per step inside long batches too."""
        self.board.beat(self.name)

    def forward(self, item: object) -> None:
        """Pass an item downstream (the default: nowhere)."""

    def on_exit(self) -> None:
        """Release what the thread holds (default: nothing)."""
