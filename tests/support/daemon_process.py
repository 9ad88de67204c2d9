"""A real `mismarterad run` process for end-to-end tests, reached only from outside.

The test talks to it through its control socket, its metrics port, signals, and a datagram
socket standing in for systemd's NOTIFY_SOCKET (every message is recorded with its arrival time).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SPY_JANUARY = REPO / "mismarterad" / "sample_data" / "spy_1min_2011-01_ext_ninjatrader.csv"
DAEMON_SESSION_CONFIG = REPO / "session_configs" / "spy_2011_backtest.json"
DAY = "2011-01-04"  # the replayed day of the end-to-end tests
WATCHDOG_USEC = 2_000_000  # the daemons' watchdog: pinged every second while healthy


def executable(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"console script {name!r} is not installed next to {sys.executable}; run `pip install .`")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(state_dir: Path, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MISMARTERAD_", "NOTIFY_SOCKET", "WATCHDOG_", "JOURNAL_STREAM", "CREDENTIALS_DIRECTORY",
                                "CONFIGURATION_DIRECTORY"))}
    env.update(MISMARTERAD_STATE_DIR=str(state_dir), MISMARTERAD_DATA_DIR=str(data_dir), MISMARTERAD_LOG_FORMAT="json")
    return env


class NotifyListener:
    """Receives sd_notify datagrams like systemd would."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[float, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            for line in data.decode().splitlines():
                self.messages.append((time.monotonic(), line))

    def seen(self, prefix: str) -> list[float]:
        return [t for t, m in list(self.messages) if m.startswith(prefix)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self._sock.close()


@dataclass
class DaemonProcess:
    root: Path
    config_path: Path
    socket_path: Path
    metrics_port: int
    env: dict[str, str]
    notify: NotifyListener
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def command(self, *extra: str) -> list[str]:
        return [executable("mismarterad"), "run", "--config", str(self.config_path), *self.args, *extra]

    def start(self, *extra: str) -> None:
        log = self.root / f"daemon-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as handle:
            self.proc = subprocess.Popen(self.command(*extra), env=self.env, stdout=handle, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                self.request("hello")
                if self.notify.seen("READY=1"):  # systemd's notion of "started"
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the daemon did not answer within {timeout} s:\n{self.log_text()}")

    def request(self, cmd: str, words: list[str] | None = None, timeout: float = 10) -> dict[str, Any]:
        """One request on a fresh connection; returns the whole reply."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.socket_path))
            s.sendall((json.dumps({"id": 1, "cmd": cmd, "args": {"words": words or []}}) + "\n").encode())
            return json.loads(s.makefile("rb").readline())

    def status(self) -> dict[str, Any]:
        reply = self.request("status")
        assert reply["ok"], reply
        return reply["result"]

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([executable("mismarterctl"), "--socket", str(self.socket_path), *args],
                              capture_output=True, text=True, timeout=30, check=False)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as reply:
            return reply.read().decode()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                status = self.status()
            except OSError:
                status = {}
            if status and predicate(status):
                return status
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; last status {status}\n{self.log_text()[-3000:]}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def log_events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.log_text().splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return events


def write_daemon_config(path: Path, session_config: Path, socket_path: Path, metrics_port: int, **extra: object) -> None:
    lines = [f'session_config = "{session_config}"', f'socket_path = "{socket_path}"',
             f'metrics_address = "127.0.0.1:{metrics_port}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items() if not isinstance(v, dict)]
    for table, values in ((k, v) for k, v in extra.items() if isinstance(v, dict)):  # tables come last in TOML
        lines += [f"[{table}]", *(f"{k} = {json.dumps(v)}" for k, v in values.items())]
    path.write_text("\n".join(lines) + "\n")


def make_daemon(root: Path, data_dir: Path, session_config: Path = DAEMON_SESSION_CONFIG,
                start: str = f"{DAY}T08:50:00-05:00", speed: float = 1200, anchor: float | None = None,
                **config: object) -> DaemonProcess:
    """A daemon (not started) on a replay clock reading `start` at the wall instant `anchor`
    (Unix seconds), or when its process makes the clock."""
    root.mkdir(parents=True, exist_ok=True)
    socket_path, port = root / "ctl.sock", free_port()
    write_daemon_config(root / "daemon.toml", session_config, socket_path, port, **config)
    notify = NotifyListener(root / "notify.sock")
    env = base_env(root / "state", data_dir)
    env["NOTIFY_SOCKET"] = str(notify.path)
    env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)  # as systemd sets it for WatchdogSec=2
    return DaemonProcess(root, root / "daemon.toml", socket_path, port, env, notify,
                         ["--clock", "replay", "--start", start, "--speed", str(speed)]
                         + ([] if anchor is None else ["--anchor", repr(anchor)]))


def launch(daemons: list[DaemonProcess], root: Path, data_dir: Path, **options: object) -> DaemonProcess:
    """A started daemon, ready (socket answering, READY=1 sent), appended to `daemons` so the
    `daemons` fixture kills it at the test's end."""
    d = make_daemon(root, data_dir, **options)  # type: ignore[arg-type]
    daemons.append(d)
    d.start()
    d.wait_ready()
    return d
