"""The interactive shell, driven line by line against the real ControlApi behind the real
control server: the MisMartera CLI's namespaces, three-level help, the plain commands, and tab
completion of namespaces and their commands."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.daemon_snapshots import HALT, NOW, daemon_snapshot, pipeline_snapshot

from mismarterad.cli.control_api import ControlApi
from mismarterad.core.clock import SimClock
from mismarterad.ctl.client import ControlClient
from mismarterad.ctl.main import main
from mismarterad.ctl.shell import ControlShell
from mismarterad.daemon.control import DaemonSnapshot
from mismarterad.daemon.control_server import ControlServer
from mismarterad.db.engine import DbSessionFactory
from mismarterad.integrations.exchange_calendar import ExchangeCalendarSource
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.calendar_repository import CalendarRepository


@dataclass
class ReadOnlyDaemon:
    """The DaemonControl of a daemon in a session, for the commands that only read."""

    frozen: DaemonSnapshot
    time_manager: TimeManager

    def snapshot(self) -> DaemonSnapshot:
        return self.frozen


@pytest.fixture
def socket_path(tmp_path: Path, sqlite_sessions: DbSessionFactory) -> Iterator[Path]:
    clock = SimClock(NOW)
    daemon = ReadOnlyDaemon(daemon_snapshot(pipeline_snapshot(), halted=HALT),
                            TimeManager(clock, CalendarRepository(sqlite_sessions), ExchangeCalendarSource()))
    server = ControlServer(tmp_path / "ctl.sock", ControlApi(daemon).handle)  # type: ignore[arg-type]
    server.start()
    yield server.path
    server.stop()


def typed(socket_path: Path, lines: list[str], monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.setenv("XDG_STATE_HOME", str(socket_path.parent / "state"))  # the shell's history file
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    code = main(["--socket", str(socket_path)])
    out, err = capsys.readouterr()
    return code, out, err


def sections(out: str) -> list[str]:
    """What each typed line printed (the text after each prompt)."""
    return out.split(ControlShell.prompt)[1:]


def test_the_mismartera_namespaces_their_help_and_the_plain_commands(
        socket_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = typed(socket_path, ["help", "help data", "help data session", "data session", "system status",
                                         "status", "data quality", "time now", "time calendar 3", "pnl", "exit"],
                           monkeypatch, capsys)
    assert code == 0 and err == "", err
    top, data, data_session, session, system_status, status, quality, now, calendar, pnl, _ = sections(out)
    assert all(f"  {ns}" in top for ns in ("system", "data", "session", "time"))
    assert "  session " in data and "  quality " in data
    assert data_session.startswith("usage: mismarterctl session\n   or: mismarterctl data session\n")
    assert session.startswith("session_name ") and "\nstrategies:\n" in session and "\nquality:\n" in session
    assert system_status == status and "state " in status and "halted.by " in status
    assert "symbol  quality %  gaps" in quality
    assert now.startswith("now ") and "market_session " in now
    assert len([line for line in calendar.splitlines() if line.startswith("2011-01-")]) == 3
    assert "total " in pnl and "sma_cross#0 " in pnl
    assert max(len(line.removeprefix(ControlShell.prompt)) for line in out.splitlines()) <= 80  # input not echoed


def test_a_wrong_name_gets_one_line_and_the_shell_goes_on(
        socket_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = typed(socket_path, ["data import x.csv", "help bogus", "system", "status"], monkeypatch, capsys)
    assert code == 0, "the last command worked"
    assert err.splitlines() == [
        "mismarterctl: no command 'data import'; its commands: session, quality",
        "mismarterctl: no namespace or command 'bogus'; namespaces: system, data, session, time; commands: ask, "
        "calendar, config, flatten, halt, hello, help, orders, paper, pnl, positions, quality, reload, report, resume, "
        "schedule, session, start, status, stop, threads, time, trades",
        "mismarterctl: 'system' is a namespace; its commands: hello, status, threads, config, start, stop, halt, "
        "resume, flatten, reload, paper, help"]
    assert "state " in sections(out)[-2] and sections(out)[-1] == "\n"  # then Ctrl-D (the input's end)


def test_tab_completes_namespaces_and_their_commands(socket_path: Path) -> None:
    with ControlClient(socket_path) as client:
        hello = client.request("hello")
    shell = ControlShell(hello["commands"], lambda _cmd, _words: 0, hello["namespaces"],
                         stdin=io.StringIO(), stdout=io.StringIO())
    assert shell.completenames("da") == ["data"]
    assert shell.completenames("s") == ["schedule", "session", "start", "status", "stop", "system"]
    assert shell.completedefault("", "data ", 5, 5) == ["session", "quality"]
    assert shell.completedefault("c", "time c", 5, 6) == ["calendar"]
    assert shell.completedefault("s", "system s", 7, 8) == ["status", "start", "stop"]
    assert shell.complete_help("d", "help d", 5, 6) == ["data"]
    assert shell.complete_help("", "help time ", 10, 10) == ["now", "calendar", "schedule"]
    assert shell.completedefault("x", "status x", 7, 8) == []
