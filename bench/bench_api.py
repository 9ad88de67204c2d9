"""Latency of the REST API under 50 concurrent clients, against the control socket in the same run.

Run: .venv/bin/python bench/bench_api.py [--clients 50] [--requests 40]

A real daemon (paper broker, the bundled SPY January 2011, replay clock at 1x from 09:40 on
2011-01-04, so a session is running and a position is held) serves `[api]` on loopback. Each of
the clients opens its own keep-alive HTTP connection with its own bearer token and sends its
requests one after another; all clients start together. The figures are per request, from the
client's send to the whole reply read, p50 and p99 over clients x requests, for `GET
/api/v1/status` and `/api/v1/positions`. The alternative in the same run: the control socket's
`status` and `positions` (what `mismarterctl` uses), each client on its own unix-socket
connection; the socket serves at most 32 clients at once (daemon/control_server.MAX_CLIENTS), so
it is measured with 32, and the API with 32 too for the like-for-like ratio. Clients are threads
of this process, so the client side's own GIL time is in every figure alike.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_daemon import BIN, CONFIG, SPY, free_port  # noqa: E402

from mismarterad.daemon.control_server import MAX_CLIENTS  # noqa: E402

PASSWORD = "benchmark password"


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def start(root: Path) -> tuple[subprocess.Popen[bytes], Path, int]:
    env = {"MISMARTERAD_STATE_DIR": str(root / "state"), "MISMARTERAD_DATA_DIR": str(root / "data"),
           "MISMARTERAD_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin"}
    subprocess.run([str(BIN / "mismarterad"), "data", "import", str(SPY), "--symbol", "SPY"], env=env, check=True,
                   capture_output=True)
    subprocess.run([str(BIN / "mismarterad"), "user", "add", "bench", "--role", "viewer", "--password-stdin"],
                   input=(PASSWORD + "\n").encode(), env=env, check=True, capture_output=True)
    sock, api_port = root / "ctl.sock", free_port()
    (root / "daemon.toml").write_text(f'session_config = "{CONFIG}"\nsocket_path = "{sock}"\n'
                                      f'metrics_address = "127.0.0.1:{free_port()}"\n'
                                      f'[api]\naddress = "127.0.0.1:{api_port}"\n')
    proc = subprocess.Popen([str(BIN / "mismarterad"), "run", "--config", str(root / "daemon.toml"), "--clock",
                             "replay", "--start", "2011-01-04T09:40:00-05:00", "--speed", "1"], env=env,
                            stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            if socket_call(sock, "positions"):
                return proc, sock, api_port
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the daemon did not start, or held no position")


def socket_call(path: Path, cmd: str) -> object:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(path))
        s.sendall((json.dumps({"id": 1, "cmd": cmd, "args": {}}) + "\n").encode())
        return json.loads(s.makefile("rb").readline())["result"]


def token(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v1/auth/token", urllib.parse.urlencode({"username": "bench", "password": PASSWORD}),
                 {"Content-Type": "application/x-www-form-urlencoded"})
    return json.loads(conn.getresponse().read())["access_token"]  # type: ignore[no-any-return]


def http_client(port: int, path: str, bearer: str) -> Callable[[], Callable[[], None]]:
    def connect() -> Callable[[], None]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def one() -> None:
            conn.request("GET", path, headers={"Authorization": f"Bearer {bearer}"})
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200, reply.status

        return one

    return connect


def socket_client(path: Path, cmd: str) -> Callable[[], Callable[[], None]]:
    def connect() -> Callable[[], None]:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        reader = s.makefile("rb")
        line = (json.dumps({"id": 1, "cmd": cmd, "args": {}}) + "\n").encode()

        def one() -> None:
            s.sendall(line)
            assert json.loads(reader.readline())["ok"]

        return one

    return connect


def run(clients: int, requests: int, connect: Callable[[], Callable[[], None]]) -> list[float]:
    samples: list[float] = []
    lock, go = threading.Lock(), threading.Barrier(clients)

    def client() -> None:
        one = connect()
        one()  # warm the connection
        go.wait()
        mine = []
        for _ in range(requests):
            t0 = time.perf_counter()
            one()
            mine.append(time.perf_counter() - t0)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, sock, port = start(Path(tmp))
        try:
            bearers = iter([token(port) for _ in range(2 * (args.clients + MAX_CLIENTS))])
            cases: list[tuple[str, int, Callable[[], Callable[[], None]]]] = []
            for route in ("status", "positions"):
                api = lambda r=route: http_client(port, f"/api/v1/{r}", next(bearers))()  # noqa: E731
                cases += [(f"API GET /api/v1/{route}", args.clients, api), (f"API GET /api/v1/{route}", MAX_CLIENTS, api),
                          (f"socket {route}", MAX_CLIENTS, socket_client(sock, route))]
            print(f"{args.requests} requests per client, per request:")
            for name, clients, connect in cases:
                samples = run(clients, args.requests, connect)
                print(f"  {name:<26} {clients:>3} clients  p50 {1e3 * pct(samples, 50):7.2f} ms  "
                      f"p99 {1e3 * pct(samples, 99):7.2f} ms  ({len(samples)} requests)")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
