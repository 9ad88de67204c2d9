"""The control API's command table: namespaces of the MisMartera CLI, three-level help that also
takes a bare command, one-line answers for unknown names, and `pnl` from the snapshot alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from support.daemon_snapshots import daemon_snapshot, pipeline_snapshot

from mismarterad.cli.control_api import ControlApi
from mismarterad.cli.control_commands import COMMANDS, NAMESPACES, PHRASES
from mismarterad.ctl.main import EXAMPLES
from mismarterad.daemon.control import DaemonSnapshot
from mismarterad.daemon.control_server import CommandError


@dataclass
class SnapshotDaemon:
    """A DaemonControl of the reads only: the commands here never act."""

    frozen: DaemonSnapshot

    def snapshot(self) -> DaemonSnapshot:
        return self.frozen


def api() -> ControlApi:
    return ControlApi(SnapshotDaemon(daemon_snapshot(pipeline_snapshot())))  # type: ignore[arg-type]


def ask(*words: str) -> Any:
    return api().handle(words[0], {"words": list(words[1:])})


def refused(*words: str) -> str:
    with pytest.raises(CommandError) as caught:
        ask(*words)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_namespaces_are_the_mismartera_clis_and_session() -> None:
    assert list(NAMESPACES) == ["system", "data", "session", "time"]
    assert {("system", "start"), ("system", "stop"), ("system", "status"), ("data", "session"), ("data", "quality"),
            ("time", "now"), ("time", "calendar"), ("session", "pnl"), ("session", "report")} <= set(PHRASES)
    assert PHRASES[("time", "now")] == "time" and len(PHRASES) == len(COMMANDS)  # one phrase each, no stubs


def test_a_phrase_runs_its_command() -> None:
    assert ask("system", "status") == ask("status")
    assert ask("data", "session").keys() == ask("session").keys()  # its threads' ages grow by the moment
    assert ask("data", "session")["strategies"] == ask("session")["strategies"]
    assert ask("data", "quality") == ask("quality") == [{"symbol": "SPY", "quality_pct": 90.0, "gaps": 1}]
    assert ask("session", "pnl") == ask("pnl")
    assert ask("system", "help", "data") == ask("help", "data")


@pytest.mark.parametrize("words, said", [
    (["system"], "'system' is a namespace; its commands: hello, status"),
    (["data", "import"], "no command 'data import'; its commands: session, quality"),
    (["time", "advance"], "no command 'time advance'; its commands: now, calendar, schedule"),
    (["bogus"], "unknown command 'bogus'; one of: ask, calendar"),
])
def test_unknown_commands_get_one_line_of_what_exists(words: list[str], said: str) -> None:
    assert said in refused(*words)


def test_help_has_three_levels() -> None:
    top = ask("help")
    assert all(f"  {ns}" in top for ns in NAMESPACES)
    data = ask("help", "data")
    assert data.splitlines()[2:] == ["  session            the session config, hours, symbols, last bars and progress",
                                     "  quality            data quality and gaps per symbol so far"]
    assert ask("help", "data", "session").splitlines()[:2] == ["usage: mismarterctl session",
                                                               "   or: mismarterctl data session"]
    assert "  now " in ask("help", "time") and "import" not in ask("help", "data")


def test_help_of_a_command_needs_no_namespace() -> None:
    assert ask("help", "report") == ask("help", "session", "report")
    assert ask("help", "report").splitlines()[:2] == ["usage: mismarterctl report DATE",
                                                      "   or: mismarterctl session report DATE"]
    assert ask("help", "quality") == ask("help", "data", "quality")


@pytest.mark.parametrize("words, said", [
    (["help", "bogus"], "no namespace or command 'bogus'; namespaces: system, data, session, time; commands: ask,"),
    (["help", "data", "import"], "no command 'import' in data; one of: session, quality"),
    (["help", "bogus", "status"], "no namespace 'bogus'; one of: system, data, session, time"),
    (["help", "a", "b", "c"], "usage: help [NAMESPACE [COMMAND]] | help COMMAND"),
])
def test_unknown_help_names_get_one_line_listing_what_exists(words: list[str], said: str) -> None:
    assert said in refused(*words)


def test_every_help_text_fits_80_columns() -> None:
    texts = [ask("help"), *(ask("help", ns) for ns in NAMESPACES), *(ask("help", name) for name in COMMANDS)]
    assert max(len(line) for text in texts for line in text.splitlines()) <= 80


def test_hello_announces_the_namespaces_for_completion() -> None:
    hello = ask("hello")
    assert hello["commands"] == sorted(COMMANDS)
    assert hello["namespaces"]["data"] == ["session", "quality"] and hello["namespaces"]["time"][0] == "now"


def test_mismarterctl_help_lists_every_command_by_namespace_in_80_columns() -> None:
    assert max(len(line) for line in EXAMPLES.splitlines()) <= 80
    listed = {ns: line.split()[1:] for line in EXAMPLES.splitlines() for ns in NAMESPACES
              if line.startswith(f"  {ns} ")}
    for (namespace, word), name in PHRASES.items():
        if name != "hello":
            assert word in listed[namespace], (namespace, word)
