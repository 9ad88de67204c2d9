"""daemon_replies.json, the real daemon's replies the render tests draw, still has the keys
today's views answer with: a view that gains or loses a key fails here until the fixture is
recorded again (`cd tests && ../.venv/bin/python -m support.ctl_replies unit/ctl/daemon_replies.json`),
so the render tests never keep passing on replies the daemon no longer sends."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from support.daemon_snapshots import daemon_snapshot, pipeline_snapshot

from mismarterad.cli.control_api import ControlApi
from mismarterad.core.run_result import RunResult
from mismarterad.runs.reports import write_backtest_report

REPLIES = json.loads((Path(__file__).parent / "daemon_replies.json").read_text())
SNAPSHOT_VIEWS = ("status", "threads", "session", "positions", "orders", "trades", "quality", "pnl", "config")


def keys(reply: Any) -> frozenset[str] | str:
    """A reply's shape: its keys, a table's column keys (every row's), or its type."""
    if isinstance(reply, dict):
        return frozenset(reply)
    if isinstance(reply, list) and reply and all(isinstance(row, dict) for row in reply):
        return frozenset(key for row in reply for key in row)
    return type(reply).__name__


def current(phase: str, tmp_path: Path) -> ControlApi:
    """The views of a daemon like the recorded one's at `phase`: trading mid-day and at the
    close, between sessions in the evening (a report written)."""
    snapshot = daemon_snapshot(pipeline_snapshot()) if phase != "evening" else daemon_snapshot(None, day_run=False)
    return ControlApi(SimpleNamespace(snapshot=lambda: snapshot, reports_dir=tmp_path))  # type: ignore[arg-type]


@pytest.mark.parametrize("phase, command", [(p, c) for p, replies in REPLIES.items() for c in replies
                                            if c in SNAPSHOT_VIEWS])
def test_each_recorded_view_has_todays_keys(phase: str, command: str, tmp_path: Path) -> None:
    recorded, now = REPLIES[phase][command], current(phase, tmp_path).handle(command, {})
    if recorded == [] or now == []:
        pytest.skip("an empty table has no keys to compare")
    assert keys(recorded) == keys(now), f"{phase} {command}: record daemon_replies.json again"


def test_the_recorded_report_has_todays_keys_and_summary(tmp_path: Path) -> None:
    [(command, recorded)] = [(c, r) for c, r in REPLIES["evening"].items() if c.startswith("report ")]
    day = date.fromisoformat(command.split()[1])
    result = RunResult(session_name="t", mode="live", first_day=day, last_day=day, initial_cash=1000.0, orders=(),
                       fills=(), equity=(), quality=(), bars_processed=0, sessions_run=(day,), sessions_skipped=())
    write_backtest_report(tmp_path / day.isoformat(), result, ZoneInfo("America/New_York"), {})
    now = current("evening", tmp_path).handle("report", {"words": [day.isoformat()]})
    assert keys(recorded) == keys(now)
    assert keys(recorded["summary"]) == keys(now["summary"]), "record daemon_replies.json again"
    assert sorted(recorded["files"]) == sorted(now["files"])
