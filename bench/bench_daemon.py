"""The daemon's own costs, measured on the real process through its socket and metrics port.

Run: .venv/bin/python bench/bench_daemon.py

* idle: CPU share and RSS of a daemon waiting for the next session (replay clock parked on a
  Saturday), sampled from /proc over 20 s;
* control socket: round trip of `hello` and `status` on one connection, p50/p99 of 2,000 each,
  against a bare unix-socket echo server in this process as the floor;
* bar-to-decision: real time from the coordinator releasing a bar to the strategies having
  handled it, p50/p99 from the daemon's histogram (bucket interpolation, like PromQL's
  histogram_quantile) over a replayed SPY day at 600x.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPY = REPO / "mismarterad" / "sample_data" / "spy_1min_2011-01_ext_ninjatrader.csv"
CONFIG = REPO / "session_configs" / "spy_2011_backtest.json"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(root: Path, start_at: str, speed: float) -> tuple[subprocess.Popen[bytes], Path, int]:
    port, sock = free_port(), root / "ctl.sock"
    (root / "daemon.toml").write_text(f'session_config = "{CONFIG}"\nsocket_path = "{sock}"\n'
                                      f'metrics_address = "127.0.0.1:{port}"\n')
    env = {**os.environ, "MISMARTERAD_STATE_DIR": str(root / "state"), "MISMARTERAD_DATA_DIR": str(root / "data"),
           "MISMARTERAD_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([str(BIN / "mismarterad"), "run", "--config", str(root / "daemon.toml"), "--clock",
                             "replay", "--start", start_at, "--speed", str(speed)], env=env,
                            stderr=subprocess.DEVNULL)
    for _ in range(300):
        if sock.exists():
            try:
                rtt(sock, "hello", 1)
                return proc, sock, port
            except OSError:
                pass
        time.sleep(0.1)
    raise SystemExit("the daemon did not start")


def rtt(path: Path, cmd: str, count: int) -> list[float]:
    out = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(path))
        reader = s.makefile("rb")
        line = (json.dumps({"id": 1, "cmd": cmd, "args": {}}) + "\n").encode()
        for _ in range(count):
            t0 = time.perf_counter()
            s.sendall(line)
            reader.readline()
            out.append(time.perf_counter() - t0)
    return out


def echo_floor(root: Path, count: int) -> list[float]:
    path = root / "echo.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            reader = conn.makefile("rb")
            for line in reader:
                conn.sendall(line)

    threading.Thread(target=serve, daemon=True).start()
    return rtt(path, "hello", count)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def proc_cpu_secs(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


def histogram_quantile(text: str, name: str, q: float) -> float:
    buckets = sorted((float("inf") if le == "+Inf" else float(le), float(v)) for le, v in
                     re.findall(rf'{name}_bucket\{{le="([^"]+)"\}} ([0-9.e+]+)', text))
    total = buckets[-1][1]
    rank, lower, below = q * total, 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = upper, count
    return lower


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "MISMARTERAD_STATE_DIR": str(root / "state"), "MISMARTERAD_DATA_DIR": str(root / "data")}
        subprocess.run([str(BIN / "mismarterad"), "data", "import", str(SPY), "--symbol", "SPY"], env=env, check=True,
                       capture_output=True)

        idle, sock, _port = start(root, "2011-01-08T12:00:00-05:00", 1)  # a Saturday: nothing to do
        time.sleep(3)
        cpu0, t0 = proc_cpu_secs(idle.pid), time.monotonic()
        time.sleep(20)
        cpu_share = (proc_cpu_secs(idle.pid) - cpu0) / (time.monotonic() - t0)
        print(f"idle daemon: CPU {100 * cpu_share:.2f}% of one core, RSS {rss_mb(idle.pid):.0f} MB")
        hello, status = rtt(sock, "hello", 2000), rtt(sock, "status", 2000)
        floor = echo_floor(root, 2000)
        for name, values in (("hello", hello), ("status", status), ("echo floor", floor)):
            print(f"socket round trip {name}: p50 {1e3 * pct(values, 50):.3f} ms, p99 {1e3 * pct(values, 99):.3f} ms")
        idle.terminate()
        idle.wait(10)

        busy_root = root / "busy"
        busy_root.mkdir()
        os.symlink(root / "data", busy_root / "data")
        busy, sock, port = start(busy_root, "2011-01-04T09:25:00-05:00", 600)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until the replayed session has stopped
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(str(sock))
                s.sendall(b'{"id": 1, "cmd": "status"}\n')
                state = json.loads(s.makefile("rb").readline())["result"]
            if state["state"] == "STOPPED" and state["last_report"]:
                break
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as reply:
            text = reply.read().decode()
        count = re.search(r"mismarterad_bar_to_decision_seconds_count ([0-9.e+]+)", text)
        print(f"bar-to-decision over {float(count.group(1)) if count else 0:.0f} steps of a replayed day at 600x: "
              f"p50 {1e3 * histogram_quantile(text, 'mismarterad_bar_to_decision_seconds', 0.5):.2f} ms, "
              f"p99 {1e3 * histogram_quantile(text, 'mismarterad_bar_to_decision_seconds', 0.99):.2f} ms")
        busy.terminate()
        busy.wait(10)


if __name__ == "__main__":
    main()
