"""A real `mismarterad emulate alpaca` process for tests, reached only over its port
(support/emulator_process.py: the process and its controls). Point the alpaca-py clients at
`base_url` (REST), `data_stream_url` and `trading_stream_url` with url_override.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alpaca.trading.client import TradingClient
from support.emulator_process import (  # noqa: F401 -- the Alpaca tests' names for the shared helpers
    NY,
    SAMPLE_DATA,
    SPY_JANUARY_2011,
    EmulatorProcess,
    cli_command,
    emulator_env,
    launch,
    replay_args,
    sample_day_bars,
    write_store,
)

KEY_ID, SECRET = "emulator-key", "emulator-secret"


@dataclass
class AlpacaEmulator(EmulatorProcess):
    """A running Alpaca emulator process: its controls and the keys it takes."""

    key_id: str = KEY_ID
    secret: str = SECRET

    @property
    def data_stream_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/v2/iex"

    @property
    def trading_stream_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/stream"


def emulator_command(data_dir: Path, state_dir: Path, *, port: int = 0, key_id: str = KEY_ID,
                     secret: str = SECRET, clock_start: str | None = None, speed: float | None = None) -> list[str]:
    return cli_command("emulate", "alpaca", "--port", str(port), "--key-id", key_id, "--secret", secret,
                       "--data-dir", str(data_dir), "--state-dir", str(state_dir), *replay_args(clock_start, speed))


def start_emulator(data_dir: Path, state_dir: Path, *, key_id: str = KEY_ID, secret: str = SECRET,
                   clock_start: str | None = None, speed: float | None = None,
                   timeout_secs: float = 30.0) -> AlpacaEmulator:
    """Start the emulator (replay clock if `clock_start` is given) and wait until it listens."""
    url, process, log_path = launch(emulator_command(data_dir, state_dir, key_id=key_id, secret=secret,
                                                     clock_start=clock_start, speed=speed),
                                    data_dir, state_dir, timeout_secs)
    return AlpacaEmulator(url, process, log_path, key_id, secret)


# --- alpaca-py clients pointed at an emulator -------------------------------------------------


def trading_client(emulator: AlpacaEmulator, secret: str | None = None) -> TradingClient:
    return TradingClient(emulator.key_id, secret or emulator.secret, url_override=emulator.base_url)


class Collector:
    """Items an SDK stream hands its async handler, readable from the test thread."""

    def __init__(self) -> None:
        self.items: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []

    async def handler(self, item: Any) -> None:
        self.items.put(item)

    def wait_for(self, predicate: Callable[[Any], bool], timeout_secs: float = 10.0) -> Any:
        """The first item (old or new) matching `predicate`; AssertionError after the timeout."""
        for item in self.seen:
            if predicate(item):
                return item
        deadline = time.monotonic() + timeout_secs
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.items.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(item)
            if predicate(item):
                return item
        raise AssertionError(f"nothing matched within {timeout_secs}s; seen: {self.seen}")

    def drain(self, settle_secs: float = 0.5) -> list[Any]:
        """Everything received until nothing came for `settle_secs`."""
        while True:
            try:
                self.seen.append(self.items.get(timeout=settle_secs))
            except queue.Empty:
                return self.seen


def run_stream(stream: Any) -> threading.Thread:
    """Run an SDK stream's own event loop in a daemon thread (its `run()` blocks)."""
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while getattr(stream, "_loop", None) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread


def stop_stream(stream: Any, thread: threading.Thread, emulator: AlpacaEmulator | None = None) -> None:
    """Stop an SDK stream and wait for its thread. The SDK notices a stop only when its receive
    returns (up to 5 s when idle); give its `emulator` to drop the sockets and end that wait now."""
    stream.stop()
    if emulator is not None:
        emulator.fault("drop_stream", stream="both")
    thread.join(10)
    assert not thread.is_alive(), "the SDK stream did not stop"


def wait_connected(emulator: AlpacaEmulator, path: str, count: int = 1, timeout_secs: float = 10.0) -> None:
    """Until the emulator has seen `count` connections to `path` (plus a moment for auth)."""
    deadline = time.monotonic() + timeout_secs
    while sum(r["path"] == path for r in emulator.requests()) < count:
        assert time.monotonic() < deadline, f"no connection to {path}"
        time.sleep(0.05)
    time.sleep(0.3)


def events_of(collector: Collector, client_order_id: str) -> list[str]:
    return [u.event for u in collector.drain() if u.order.client_order_id == client_order_id]


@contextmanager
def running_emulator(data_dir: Path, state_dir: Path, **kwargs: Any) -> Iterator[AlpacaEmulator]:
    emulator = start_emulator(data_dir, state_dir, **kwargs)
    try:
        yield emulator
    finally:
        emulator.stop()
