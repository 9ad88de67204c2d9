"""The kill switch end to end: `mismarterctl halt [flatten] [REASON]` and `resume` on a real daemon,
in and outside a session, kept across a restart in <state>/halt.json, shown by status and
`mismarterad_halted`."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

from support.daemon_process import DAY, DaemonProcess, launch


def halted_metric(d: DaemonProcess) -> str:
    found = re.search(r"^mismarterad_halted (\S+)$", d.metrics(), re.MULTILINE)
    assert found, "mismarterad_halted is missing from /metrics"
    return found.group(1)


def restart(d: DaemonProcess) -> None:
    d.signal(signal.SIGTERM)
    assert d.wait_exit(15) == 0
    d.start()
    d.wait_ready()


def me() -> str:
    return f"uid {os.getuid()}"


def test_halt_flatten_in_a_session_survives_a_restart_until_resume(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, start=f"{DAY}T09:25:00-05:00", speed=300)
    assert halted_metric(d) == "0.0" and d.status()["halted"] is None
    deadline = time.monotonic() + 60
    while not d.request("positions")["result"]:
        assert time.monotonic() < deadline, "no position was ever opened"
        time.sleep(0.1)
    done = d.ctl("--json", "halt", "flatten", "broker", "outage")
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["in_session"] is True and reply["flatten_orders"], reply  # a position was held
    assert reply["halted"]["by"].startswith(me()) and reply["halted"]["reason"] == "broker outage"
    assert reply["halted"]["flatten"] is True and reply["halted"]["since"].startswith(DAY)
    status = d.status()
    assert status["halted"] == reply["halted"] and status["open_orders"] <= len(reply["flatten_orders"])
    assert halted_metric(d) == "1.0"
    saved = json.loads((d.root / "state" / "halt.json").read_text())
    assert saved["by"] == reply["halted"]["by"] and saved["reason"] == "broker outage" and saved["flatten"] is True
    assert _wait_status_line(d), "the systemd STATUS line shows HALTED"

    restart(d)  # SIGTERM, then the same state directory
    assert "mismarterad_previous_stop_unclean 0.0" in d.metrics(), "a stop in order is no watchdog restart"
    again = d.status()
    assert again["halted"] == reply["halted"], "the halt (since, by, reason) must survive the restart"
    assert halted_metric(d) == "1.0"
    running = d.wait_for(lambda s: s["state"] == "RUNNING" and s["bars_processed"] > 30, 60,
                         "the restarted session to catch up")
    assert running["halted"] == reply["halted"]
    assert d.request("positions")["result"] == [], "a halted day-run must not open positions"
    assert re.search(r'^mismarterad_risk_refusals_total\{check="halted"\} ', d.metrics(), re.MULTILINE)

    resumed = d.ctl("--json", "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout) == {"halted": None, "in_session": True}
    assert d.status()["halted"] is None and halted_metric(d) == "0.0"
    assert not (d.root / "state" / "halt.json").exists()
    restart(d)
    assert d.status()["halted"] is None and halted_metric(d) == "0.0"
    _assert_the_log_tells_the_story(d, reply)


def _assert_the_log_tells_the_story(d: DaemonProcess, halt_reply: dict[str, object]) -> None:
    """The daemon's stderr holds, at INFO or above, the fill that opened the position, the halt
    and who asked for it, the flatten orders, the halted restart adopting the day's journaled
    orders (a halt never undoes what was decided before it) and the resume."""
    events = d.log_events()

    def told(event: str, **keys: object) -> list[dict[str, object]]:
        return [e for e in events if e.get("event") == event and all(e.get(k) == v for k, v in keys.items())]

    assert all(e["level"] in ("info", "warning") for e in events if e.get("event") in (
        "order_submitted", "order_filled", "order_refused", "operator_command", "trading_halted", "trading_resumed"))
    [entry_fill, *_] = told("order_filled", symbol="SPY")
    assert entry_fill["strategy"] and entry_fill["client_order_id"] and entry_fill["side"] == "buy"
    assert told("order_submitted", client_order_id=entry_fill["client_order_id"])
    [halt] = told("operator_command", cmd="halt", ok=True)
    assert str(halt["peer"]).startswith(me()) and halt["flatten_orders"] == halt_reply["flatten_orders"]
    assert told("trading_halted", by=halt["peer"], reason="broker outage", flatten=True)
    for client_order_id in halt_reply["flatten_orders"]:  # type: ignore[attr-defined]
        [order] = told("order_submitted", client_order_id=client_order_id, closing=True)
        assert order["symbol"] == "SPY" and order["strategy"] and order["level"] == "info"
    assert told("order_adopted", client_order_id=entry_fill["client_order_id"]), \
        "the halted restart rebuilds the day from the journal: the entry is adopted"
    assert not told("order_refused", client_order_id=entry_fill["client_order_id"]), \
        "an order the journal holds as filled is never refused by the halt that came after it"
    assert told("operator_command", cmd="resume", ok=True) and told("trading_resumed", was_halted=True)


def _wait_status_line(d: DaemonProcess) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(m.startswith("STATUS=RUNNING HALTED") for _, m in d.notify.messages):
            return True
        time.sleep(0.1)
    return False


def test_halt_and_resume_work_outside_a_session_and_across_restarts(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, start=f"{DAY}T06:00:00-05:00", speed=60)  # 3 h before the start
    assert d.status()["session_date"] is None
    done = d.ctl("halt", "maintenance", "window")
    assert done.returncode == 0, done.stderr
    assert "nothing was open" in done.stdout and "maintenance window" in done.stdout
    status = d.status()
    assert status["halted"]["reason"] == "maintenance window" and status["halted"]["flatten"] is False
    assert status["halted"]["since"].startswith(f"{DAY}T06:") and halted_metric(d) == "1.0"
    assert d.request("flatten")["error"]["code"] == "refused"  # a bare flatten still needs a session

    restart(d)
    assert d.status()["halted"] == status["halted"] and halted_metric(d) == "1.0"
    again = d.ctl("--json", "halt", "flatten", "second", "thoughts")  # keeps the first since
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)["halted"]
    assert second["since"] == status["halted"]["since"] and second["reason"] == "second thoughts"
    assert second["flatten"] is True

    bad = d.ctl("halt", "x" * 201)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "at most 200" in bad.stderr
    assert d.status()["halted"] == second  # a refused halt changes nothing

    resumed = d.ctl("resume")
    assert resumed.returncode == 0, resumed.stderr
    assert d.status()["halted"] is None and halted_metric(d) == "0.0"
    restart(d)
    assert d.status()["halted"] is None


def test_a_halt_that_cannot_be_saved_holds_in_memory_and_a_bad_file_starts_halted(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, start=f"{DAY}T06:00:00-05:00", speed=60)
    (d.root / "state" / "halt.json").mkdir()  # the rename onto it fails like a full or read-only disk
    done = d.ctl("halt", "disk", "trouble")
    assert done.returncode == 1 and "NOT saved" in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert d.status()["halted"]["reason"] == "disk trouble" and halted_metric(d) == "1.0"
    assert any(e.get("event") == "halt_file_not_saved" for e in d.log_events())

    restart(d)  # the file is unreadable (a directory): money safety says halted
    status = d.status()
    assert status["halted"]["by"] == "daemon" and "halt.json" in status["halted"]["reason"]
    assert halted_metric(d) == "1.0"
    assert any(e.get("event") == "halt_file_unreadable" and e.get("level") == "error" for e in d.log_events())
    (d.root / "state" / "halt.json").rmdir()
    assert d.ctl("resume").returncode == 0 and d.status()["halted"] is None
