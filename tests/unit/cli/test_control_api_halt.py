"""`halt [flatten] [REASON...]` and `resume` through the control API, against a fake DaemonControl."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mismarterad.core.halt import HaltState
from mismarterad.daemon.control import HaltOutcome
from mismarterad.cli.control_api import ControlApi, parse_halt
from mismarterad.daemon.control_server import CommandError, ControlServer, Peer

NOW = datetime(2011, 1, 4, 14, 40, tzinfo=UTC)
ME = Peer(4242, os.getuid(), os.getgid())


@dataclass
class FakeDaemon:
    in_session: bool = True
    save_error: str | None = None
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    state: HaltState | None = None

    def snapshot(self) -> Any:
        return SimpleNamespace(timezone=ZoneInfo("America/New_York"))

    def halt(self, by: str, reason: str, flatten: bool) -> HaltOutcome:
        self.calls.append(("halt", by, reason, flatten))
        self.state = HaltState(self.state.since_utc if self.state else NOW, by, reason, flatten)
        if not self.in_session:
            return HaltOutcome(self.state, False, save_error=self.save_error)
        return HaltOutcome(self.state, True, ("o1", "o2"), ("o3",) if flatten else (), self.save_error)

    def resume(self, by: str) -> HaltOutcome:
        self.calls.append(("resume", by))
        self.state = None
        return HaltOutcome(None, self.in_session, save_error=self.save_error)


def _api(daemon: FakeDaemon) -> ControlApi:
    return ControlApi(daemon)  # type: ignore[arg-type]


@pytest.mark.parametrize("words, expected", [
    ([], (False, "")), (["flatten"], (True, "")), (["broker", "outage"], (False, "broker outage")),
    (["flatten", "end", "of", "day"], (True, "end of day")), (["stop", "flatten"], (False, "stop flatten")),
    (["x" * 200], (False, "x" * 200)),
])
def test_the_halt_grammar(words: list[str], expected: tuple[bool, str]) -> None:
    assert parse_halt(words) == expected


@pytest.mark.parametrize("words, message", [
    (["x" * 201], "at most 200"), (["a" * 100, "b" * 100], "at most 200"), (["two\nlines"], "control characters"),
    (["flatten", "\x1b[2J"], "control characters"),
])
def test_bad_reasons_get_one_clear_error(words: list[str], message: str) -> None:
    daemon = FakeDaemon()
    with pytest.raises(CommandError) as caught:
        _api(daemon).handle("halt", {"words": words}, ME)
    assert caught.value.code == "bad_request" and message in str(caught.value) and "\n" not in str(caught.value)
    assert daemon.calls == []


def test_halt_records_the_peer_and_lists_what_it_did() -> None:
    daemon = FakeDaemon()
    reply = _api(daemon).handle("halt", {"words": ["flatten", "broker", "outage"]}, ME)
    assert daemon.calls == [("halt", ME.name, "broker outage", True)]
    assert ME.name.startswith(f"uid {os.getuid()}")
    assert reply == {"halted": {"since": "2011-01-04T09:40:00-05:00", "by": ME.name, "reason": "broker outage",
                                "flatten": True},
                     "in_session": True, "canceled": ["o1", "o2"], "flatten_orders": ["o3"]}


def test_halt_outside_a_session_says_nothing_was_open() -> None:
    reply = _api(FakeDaemon(in_session=False)).handle("halt", {}, ME)
    assert reply["in_session"] is False and reply["canceled"] == [] and "nothing was open" in reply["note"]


def test_resume_takes_no_arguments_and_answers_not_halted() -> None:
    daemon = FakeDaemon()
    assert _api(daemon).handle("resume", {}, ME) == {"halted": None, "in_session": True}
    with pytest.raises(CommandError) as caught:
        _api(daemon).handle("resume", {"words": ["now"]}, ME)
    assert caught.value.code == "bad_request" and daemon.calls == [("resume", ME.name)]


def test_an_unsaved_halt_is_an_error_that_still_says_what_was_done() -> None:
    daemon = FakeDaemon(save_error="the halt was NOT saved to /state/halt.json (No space left on device)")
    with pytest.raises(CommandError) as caught:
        _api(daemon).handle("halt", {"words": ["flatten"]}, ME)
    assert caught.value.code == "not_saved"
    assert "NOT saved" in str(caught.value) and "canceled: o1, o2" in str(caught.value)
    assert "flatten orders: o3" in str(caught.value)
    assert daemon.state is not None  # it holds in memory


def test_the_server_passes_the_kernel_peer_not_a_client_claim(tmp_path: Path) -> None:
    seen: list[Peer | None] = []

    def handler(cmd: str, args: dict[str, Any], peer: Peer | None) -> Any:
        seen.append(peer)
        return {"by": peer.name if peer else None}

    srv = ControlServer(tmp_path / "ctl.sock", handler)
    srv.start()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(srv.path))
            s.sendall(b'{"id": 1, "cmd": "halt", "args": {"words": [], "peer": "uid 0 (root)"}}\n')
            reply = json.loads(s.makefile("rb").readline())
    finally:
        srv.stop()
    assert reply["result"]["by"] == ME.name
    [peer] = seen
    assert peer is not None and peer.uid == os.getuid() and peer.pid == os.getpid()
