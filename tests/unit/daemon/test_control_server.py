"""The control socket's defences, on a real unix socket in-process (a stub handler, no daemon)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mismarterad.daemon import control_server
from mismarterad.daemon.control_server import MAX_CLIENTS, CommandError, ControlServer


def _handler(cmd: str, args: dict[str, Any], _peer: object = None) -> Any:
    if cmd == "nan":
        return {"pnl": float("nan"), "equity": [float("inf"), 1.5]}
    if cmd == "echo":
        return args
    if cmd == "boom":
        raise RuntimeError("boom")
    if cmd == "status":
        return {"state": "STOPPED"}
    raise CommandError("unknown_command", f"unknown command {cmd!r}")


def _strict_loads(raw: bytes) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name} in {raw!r}")

    return json.loads(raw, parse_constant=refuse)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlServer]:
    monkeypatch.setattr(control_server, "LINE_DEADLINE_SECS", 1.0)
    srv = ControlServer(tmp_path / "ctl.sock", _handler)
    srv.start()
    yield srv
    srv.stop()


def _connect(srv: ControlServer) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(str(srv.path))
    return s


def _ask(s: socket.socket, payload: bytes) -> dict[str, Any]:
    s.sendall(payload)
    return _strict_loads(s.makefile("rb").readline())  # type: ignore[no-any-return]


def test_a_full_socket_drops_the_longest_idle_client_and_serves_the_newest(server: ControlServer) -> None:
    idle = [_connect(server) for _ in range(MAX_CLIENTS)]
    time.sleep(0.2)
    newest = _connect(server)
    assert _ask(newest, b'{"id": 1, "cmd": "status"}\n')["ok"] is True
    first = _strict_loads(idle[0].makefile("rb").readline())
    assert first["error"]["code"] == "too_many_clients"
    for s in [*idle, newest]:
        s.close()


def test_a_client_that_dribbles_bytes_is_dropped_after_the_line_deadline(server: ControlServer) -> None:
    s = _connect(server)
    started = time.monotonic()
    reader = s.makefile("rb")
    for byte in b'{"id": 1, "cmd"':
        try:
            s.sendall(bytes([byte]))
        except BrokenPipeError:
            break
        time.sleep(0.1)
    line = reader.readline()
    assert _strict_loads(line)["error"]["code"] == "timeout"
    assert reader.readline() == b""  # closed
    assert time.monotonic() - started < 3.0
    s.close()


def test_the_deadline_restarts_after_each_reply(server: ControlServer) -> None:
    s = _connect(server)
    for _ in range(3):
        time.sleep(0.6)  # 1.8 s in all, more than one deadline
        assert _ask(s, b'{"id": 1, "cmd": "status"}\n')["ok"] is True
    s.close()


@pytest.mark.parametrize("line", [b'{"id": 1e999999, "cmd": "status"}', b'{"id": NaN, "cmd": "status"}',
                                  b'{"id": -Infinity, "cmd": "status"}', b'{"id": [1], "cmd": "status"}'])
def test_a_non_finite_or_odd_id_is_a_bad_request_in_standard_json(server: ControlServer, line: bytes) -> None:
    reply = _strict_loads(server.respond(line))
    assert reply == {"id": None, "ok": False, "error": {
        "code": "bad_request", "message": "'id' must be a string, a finite number or null"}}


def test_non_finite_results_become_null_and_deep_lines_are_bad_json(server: ControlServer) -> None:
    assert _strict_loads(server.respond(b'{"id": 2, "cmd": "nan"}')) == {
        "id": 2, "ok": True, "result": {"pnl": None, "equity": [None, 1.5]}}
    assert _strict_loads(server.respond(b"[" * 60000))["error"]["code"] == "bad_json"
    assert _strict_loads(server.respond(b'{"id": ' + b"9" * 5000 + b"}"))["error"]["code"] == "bad_json"
    assert _strict_loads(server.respond(b'{"id": 3, "cmd": "echo", "args": {"x": 1e999}}'))["result"] == {"x": None}
