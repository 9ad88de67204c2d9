"""mismarterctl's human status output of the reconciliation: one line when the account is
clean, each open difference on its own line, and a HALTED line that says what to do."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from mismarterad.ctl.render import reconciliation_lines, render

ZERO = {"unknown_order": 0, "missing_order": 0, "position": 0}


def _record(**overrides: Any) -> dict[str, Any]:
    return {"policy": "halt", "checks": 4, "last_check": "2011-01-04T09:40:00-05:00", "counts": dict(ZERO),
            "day_run_counts": dict(ZERO), "open": [], "halted": None, **overrides}


def _printed(result: Any) -> str:
    out = io.StringIO()
    render(result, Console(file=out, width=200, highlight=False))
    return out.getvalue()


def test_a_clean_account_is_one_line() -> None:
    assert reconciliation_lines(_record()) == ["reconciliation: 4 checks, no differences"]
    assert reconciliation_lines(_record(checks=1)) == ["reconciliation: 1 check, no differences"]


def test_differences_found_and_settled_are_still_mentioned() -> None:
    lines = reconciliation_lines(_record(counts={**ZERO, "position": 2}))
    assert lines == ["reconciliation: 4 checks, no open differences (found: position=2)"]


def test_each_open_difference_has_a_line_and_a_halt_says_what_to_do() -> None:
    halted = "unknown_order SPY: buy 10 working at the broker, not placed by this session"
    record = _record(counts={**ZERO, "unknown_order": 1, "position": 1}, halted=halted, open=[
        {"kind": "unknown_order", "symbol": "SPY", "client_order_id": "x-1", "ours": 0, "broker": 10,
         "detail": "buy 10 working at the broker, not placed by this session"},
        {"kind": "position", "symbol": "SPY", "client_order_id": None, "ours": 4, "broker": 5,
         "detail": "the broker holds 5 shares, the strategies 4"}])
    assert reconciliation_lines(record) == [
        "reconciliation: 4 checks, 2 open differences (policy halt):",
        "  unknown_order SPY x-1: ours 0, broker 10 - buy 10 working at the broker, not placed by this session",
        "  position SPY: ours 4, broker 5 - the broker holds 5 shares, the strategies 4",
        f"reconciliation halted trading: {halted}; `mismarterctl resume` after checking the account",
    ]


def test_status_prints_the_lines_after_its_table_not_as_a_cell() -> None:
    out = _printed({"state": "RUNNING", "reconciliation": _record(halted="position SPY: [bracketed] text"),
                    "uptime_seconds": 3.0})
    lines = out.splitlines()
    assert any(line.startswith("state") for line in lines) and any("uptime_seconds" in line for line in lines)
    assert not any(line.startswith("reconciliation ") and "policy=" in line for line in lines)  # no dict cell
    assert lines[-2:] == ["reconciliation: 4 checks, no differences",
                          "reconciliation halted trading: position SPY: [bracketed] text; `mismarterctl resume` "
                          "after checking the account"]


def test_other_records_are_rendered_as_before() -> None:
    out = _printed({"reconciliation": "not a status record", "n": 1})
    assert "not a status record" in out and "checks" not in out
