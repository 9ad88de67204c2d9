"""mismarterctl's halt and resume: the words reach the daemon as typed, and an unsaved halt exits 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mismarterad.ctl.main import main
from mismarterad.daemon.control_server import CommandError, ControlServer


def _daemon(cmd: str, args: dict[str, Any], _peer: object = None) -> Any:
    if cmd == "halt" and args.get("words") == ["disk"]:
        raise CommandError("not_saved", "the halt was NOT saved to /state/halt.json (No space left on device)")
    if cmd == "halt":
        return {"halted": {"since": "2011-01-04T09:40:00-05:00", "by": "uid 1000 (alice)",
                           "reason": " ".join(args.get("words", [])[1:]), "flatten": True},
                "in_session": True, "canceled": ["o1"], "flatten_orders": ["o2"]}
    return {"halted": None, "in_session": False}


@pytest.fixture
def socket_path(tmp_path: Path) -> Any:
    srv = ControlServer(tmp_path / "ctl.sock", _daemon)
    srv.start()
    yield str(srv.path)
    srv.stop()


def test_halt_flatten_prints_who_and_what(socket_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--socket", socket_path, "halt", "flatten", "broker", "outage"]) == 0
    out = capsys.readouterr().out
    assert "uid 1000 (alice)" in out and "broker outage" in out and "o1" in out and "o2" in out


def test_an_unsaved_halt_exits_1_with_one_line(socket_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--socket", socket_path, "halt", "disk"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NOT saved" in err


def test_resume(socket_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--socket", socket_path, "--json", "resume"]) == 0
    assert '"halted": null' in capsys.readouterr().out
