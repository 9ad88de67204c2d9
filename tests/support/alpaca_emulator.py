"""A real `mismarterad emulate alpaca` process for tests, reached only over its port.

`start_emulator(...)` runs the working tree's CLI (`python -m mismarterad.cli.main`, PYTHONPATH
set to this repository) and waits for its `{"listening": URL}` line. `write_store` fills a
`--data-dir` with bars; `sample_day_bars` reads a bundled real sample file. Point the alpaca-py
clients at `base_url` (REST), `data_stream_url` and `trading_stream_url` with url_override.
"""

from __future__ import annotations

import csv
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alpaca.trading.client import TradingClient

from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO / "mismarterad" / "sample_data"
SPY_JANUARY_2011 = SAMPLE_DATA / "spy_1min_2011-01_ext_ninjatrader.csv"
KEY_ID, SECRET = "emulator-key", "emulator-secret"
NY = ZoneInfo("America/New_York")


@dataclass
class AlpacaEmulator:
    """A running emulator process and its controls (`/_emulator/*`)."""

    base_url: str
    key_id: str
    secret: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def data_stream_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/v2/iex"

    @property
    def trading_stream_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/stream"

    def fault(self, kind: str, **params: Any) -> None:
        """Arm a fault; AssertionError with the emulator's reason if it refuses it."""
        status, body = self.post("/_emulator/faults", {"kind": kind, **params})
        assert status == 200, f"fault {kind} {params} refused: {body}"

    def requests(self) -> list[dict[str, Any]]:
        """Every request the emulator received: method, path, client_order_id, time."""
        return self.get("/_emulator/requests")

    def state(self) -> dict[str, Any]:
        return self.get("/_emulator/state")

    def inject_bars(self, bars: Sequence[Bar]) -> None:
        """Stream these 1m bars now, as the market thread would (orders match first)."""
        status, body = self.post("/_emulator/bars", {"bars": [_bar_body(b) for b in bars]})
        assert status == 200, body

    def open_session(self) -> None:
        status, body = self.post("/_emulator/open", {})
        assert status == 200, body

    def close_session(self, last_bars: Sequence[Bar]) -> None:
        """Run the session close: cls orders fill at these bars' closes, day orders expire."""
        status, body = self.post("/_emulator/close", {"bars": [_bar_body(b) for b in last_bars]})
        assert status == 200, body

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as resp:
            return json.loads(resp.read())

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        req = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; the exit code (0 for a clean stop)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)


def emulator_command(data_dir: Path, state_dir: Path, *, port: int = 0, key_id: str = KEY_ID,
                     secret: str = SECRET, clock_start: str | None = None, speed: float | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "mismarterad.cli.main", "emulate", "alpaca", "--port", str(port),
           "--key-id", key_id, "--secret", secret, "--data-dir", str(data_dir), "--state-dir", str(state_dir)]
    if clock_start is not None:
        cmd += ["--clock", "replay", "--start", clock_start, "--speed", str(speed or 60)]
    return cmd


def emulator_env(data_dir: Path, state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISMARTERAD_")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
               MISMARTERAD_LOG_FORMAT="json", MISMARTERAD_DATA_DIR=str(data_dir),
               MISMARTERAD_STATE_DIR=str(state_dir))
    return env


def start_emulator(data_dir: Path, state_dir: Path, *, key_id: str = KEY_ID, secret: str = SECRET,
                   clock_start: str | None = None, speed: float | None = None,
                   timeout_secs: float = 30.0) -> AlpacaEmulator:
    """Start the emulator (replay clock if `clock_start` is given) and wait until it listens."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    log_path = Path(state_dir).with_name(Path(state_dir).name + "-emulator.log")
    log_file = open(log_path, "wb")  # noqa: SIM115 -- lives as long as the process
    process = subprocess.Popen(
        emulator_command(data_dir, state_dir, key_id=key_id, secret=secret, clock_start=clock_start, speed=speed),
        stdout=subprocess.PIPE, stderr=log_file, env=emulator_env(data_dir, state_dir),
    )
    log_file.close()
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    deadline, buffer = time.monotonic() + timeout_secs, b""
    while time.monotonic() < deadline:
        chunk = process.stdout.read() or b""
        buffer += chunk
        if b"\n" in buffer:
            url = json.loads(buffer.split(b"\n", 1)[0])["listening"]
            return AlpacaEmulator(url, key_id, secret, process, log_path)
        if process.poll() is not None:
            break
        time.sleep(0.02)
    process.kill()
    process.wait(5)
    raise RuntimeError(f"emulator did not start (rc={process.returncode}): {log_path.read_text()[-2000:]}")


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


def write_store(data_dir: Path, bars: Iterable[Bar]) -> None:
    """Write bars into a `--data-dir` store, grouped by symbol and interval."""
    groups: dict[tuple[str, str], list[Bar]] = {}
    for bar in bars:
        groups.setdefault((bar.symbol, bar.interval), []).append(bar)
    store = ParquetBarStore(Path(data_dir))
    for (symbol, interval), series in groups.items():
        store.write_bars(symbol, interval, series)


def sample_day_bars(path: Path, symbol: str, day: date, interval: str = "1m") -> list[Bar]:
    """One New York day of a bundled sample file (`timestamp,open,high,low,close,volume`)."""
    out = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            start = datetime.fromisoformat(row["timestamp"])
            if start.astimezone(NY).date() == day:
                out.append(Bar(symbol, interval, start.astimezone(UTC), float(row["open"]), float(row["high"]),
                               float(row["low"]), float(row["close"]), int(float(row["volume"]))))
    return out


def _bar_body(bar: Bar) -> dict[str, Any]:
    return {"symbol": bar.symbol, "start": bar.start_utc.isoformat(), "o": bar.open, "h": bar.high,
            "l": bar.low, "c": bar.close, "v": bar.volume}
