"""mismarterctl against a socket that is full, refuses, or dropped it while idle."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mismarterad.ctl import client as ctl_client
from mismarterad.ctl.client import ControlClient, CtlError
from mismarterad.daemon import control_server
from mismarterad.daemon.control_server import ControlServer


@pytest.fixture
def full_socket(tmp_path: Path) -> Iterator[tuple[Path, socket.socket]]:
    """A listening socket that never accepts, its backlog filled: connect() gets EAGAIN."""
    path = tmp_path / "full.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(0)
    fillers = []
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(str(path))
        except BlockingIOError:
            s.close()
            break
        fillers.append(s)
    yield path, listener
    for s in fillers:
        s.close()
    listener.close()


def test_a_full_socket_is_one_line_and_exit_75_not_a_traceback(full_socket: tuple[Path, socket.socket]) -> None:
    path, _ = full_socket
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "mismarterad.ctl.main", "--socket", str(path), "status"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 75, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert "is full" in done.stderr and str(path) in done.stderr
    assert 2.5 < time.monotonic() - started < 15  # it retried for a while first


def test_the_client_gets_in_once_the_socket_drains(full_socket: tuple[Path, socket.socket]) -> None:
    path, listener = full_socket

    def drain_then_serve() -> None:
        time.sleep(0.5)
        listener.settimeout(5)
        for _ in range(50):  # the fillers first, then our client; answer every line
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_answer_once, args=(conn,), daemon=True).start()

    threading.Thread(target=drain_then_serve, daemon=True).start()
    with ControlClient(path, 5) as c:
        assert c.request("hello") == {"hi": True}


def _answer_once(conn: socket.socket) -> None:
    conn.settimeout(5)
    try:
        if conn.makefile("rb").readline():
            conn.sendall(b'{"id": 1, "ok": true, "result": {"hi": true}}\n')
    except OSError:
        pass


def _status(cmd: str, args: dict[str, Any], _peer: object = None) -> Any:
    return {"state": "STOPPED", "cmd": cmd}


def test_an_idle_connection_dropped_by_the_daemon_is_reopened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control_server, "LINE_DEADLINE_SECS", 0.5)
    srv = ControlServer(tmp_path / "ctl.sock", _status)
    srv.start()
    try:
        with ControlClient(srv.path, 5) as c:  # the interactive shell keeps one client
            assert c.request("status")["state"] == "STOPPED"
            time.sleep(1.0)  # the daemon has dropped it and said so
            assert c.request("status")["cmd"] == "status"
            monkeypatch.setattr(ctl_client, "RECONNECT_IDLE_SECS", 0.2)
            time.sleep(0.3)
            assert c.request("status")["cmd"] == "status"
    finally:
        srv.stop()


def test_a_stale_socket_of_a_dead_daemon_is_not_running(tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # the file stays, nobody listens: ECONNREFUSED
    with pytest.raises(CtlError) as caught:
        ControlClient(path, 5)
    assert caught.value.code == "not_running"


def test_a_slow_command_gets_its_own_timeout_and_the_others_keep_the_clients(tmp_path: Path) -> None:
    def slow(cmd: str, args: dict[str, Any], _peer: object = None) -> Any:
        time.sleep(0.6 if cmd == "ask" else 0)
        return {"cmd": cmd}

    srv = ControlServer(tmp_path / "ctl.sock", slow)
    srv.start()
    try:
        with ControlClient(srv.path, 0.3) as c:  # the shell's one client: ask within it, then status again
            assert c.request("ask", {"words": ["why?"]}, timeout_secs=5)["cmd"] == "ask"
            assert c.request("status")["cmd"] == "status"
        with ControlClient(srv.path, 0.3) as c, pytest.raises(CtlError) as caught:
            c.request("ask", {"words": ["why?"]})
        assert caught.value.code == "timeout"
    finally:
        srv.stop()
