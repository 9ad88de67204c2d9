"""A real emulator process for tests (`mismarterad emulate <venue>`), reached only over its port.

`launch(cmd, ...)` runs the working tree's CLI (`python -m mismarterad.cli.main`, PYTHONPATH set
to this repository) and waits for its `{"listening": URL}` line. `EmulatorProcess` holds its
controls (`/_emulator/*`), the same on every venue. `write_store` fills a `--data-dir` with bars;
`sample_day_bars` reads a bundled real sample file.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO / "mismarterad" / "sample_data"
SPY_JANUARY_2011 = SAMPLE_DATA / "spy_1min_2011-01_ext_ninjatrader.csv"
NY = ZoneInfo("America/New_York")


@dataclass
class EmulatorProcess:
    """A running emulator process and its controls (`/_emulator/*`)."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def fault(self, kind: str, **params: Any) -> None:
        """Arm a fault; AssertionError with the emulator's reason if it refuses it."""
        status, body = self.post("/_emulator/faults", {"kind": kind, **params})
        assert status == 200, f"fault {kind} {params} refused: {body}"

    def requests(self) -> list[dict[str, Any]]:
        """Every request the emulator received: method, path, time, and the venue's order
        fields (Alpaca: client_order_id; Schwab: order, order_id)."""
        return self.get("/_emulator/requests")

    def state(self) -> dict[str, Any]:
        return self.get("/_emulator/state")

    def now(self) -> datetime:
        """The emulator's clock (`/_emulator/clock`)."""
        return datetime.fromisoformat(self.get("/_emulator/clock")["timestamp"]).astimezone(UTC)

    def anchored_now(self) -> tuple[datetime, float]:
        """The emulator's clock and the wall instant (Unix seconds) it read that: the middle of
        the request, off by at most half its round trip (milliseconds)."""
        before = time.time()
        now = self.now()
        return now, (before + time.time()) / 2

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


def emulator_env(data_dir: Path, state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISMARTERAD_")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
               MISMARTERAD_LOG_FORMAT="json", MISMARTERAD_DATA_DIR=str(data_dir),
               MISMARTERAD_STATE_DIR=str(state_dir))
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mismarterad.cli.main", *args]


def replay_args(clock_start: str | None, speed: float | None) -> list[str]:
    return [] if clock_start is None else ["--clock", "replay", "--start", clock_start, "--speed", str(speed or 60)]


def launch(command: list[str], data_dir: Path, state_dir: Path, timeout_secs: float = 30.0
           ) -> tuple[str, subprocess.Popen[bytes], Path]:
    """Start an emulator process and wait until it listens: (base URL, process, log path)."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    log_path = Path(state_dir).with_name(Path(state_dir).name + "-emulator.log")
    log_file = open(log_path, "wb")  # noqa: SIM115 -- lives as long as the process
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, env=emulator_env(data_dir, state_dir))
    log_file.close()
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    deadline, buffer = time.monotonic() + timeout_secs, b""
    while time.monotonic() < deadline:
        chunk = process.stdout.read() or b""
        buffer += chunk
        if b"\n" in buffer:
            return json.loads(buffer.split(b"\n", 1)[0])["listening"], process, log_path
        if process.poll() is not None:
            break
        time.sleep(0.02)
    process.kill()
    process.wait(5)
    raise RuntimeError(f"emulator did not start (rc={process.returncode}): {log_path.read_text()[-2000:]}")


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Until `predicate()` holds; AssertionError after `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


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
