"""The daemon's paper account over two replayed days, seen only through the real daemon's socket,
its report folders and its logs: day 2 opens with day 1's ending cash, SIGKILLs (one while day 1's
report is written, one mid-day 2, each followed by a restart) neither lose nor double-count a
fill (the account ends each day exactly where a two-day backtest does), and `mismarterctl paper
reset` starts it over at `[paper] initial_cash`, never while a session runs.

Day 1 starts at 15:30 (the day caught up, then live to the close), day 2 at 14:40, killed near
15:10 and restarted there; the replay runs at 1200x.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.daemon_process import DAEMON_SESSION_CONFIG, DAY, DaemonProcess, base_env, executable, make_daemon

DAY2 = "2011-01-05"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_day_backtest(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """`mismarterad backtest` over both days (one paper account from its initial_cash): its cash
    at day 1's last step and its final equity."""
    root = tmp_path_factory.mktemp("bt2")
    subprocess.run([executable("mismarterad"), "backtest", str(DAEMON_SESSION_CONFIG), "--from", DAY, "--to", DAY2,
                    "--out", str(root / "out")], env=base_env(root / "state", data_dir), check=True,
                   capture_output=True, timeout=120)
    with (root / "out" / "equity.csv").open() as handle:
        day1_cash = [float(row["cash"]) for row in csv.DictReader(handle) if row["timestamp"].startswith(DAY)][-1]
    return {"day1_cash": day1_cash,
            "final_equity": json.loads((root / "out" / "summary.json").read_text())["final_equity"]}


def summary(d: DaemonProcess, day: str) -> dict[str, Any]:
    return json.loads((d.root / "state" / "reports" / day / "summary.json").read_text())


def restart_at(d: DaemonProcess, clock: str) -> None:
    """SIGKILL (no clean-up at all), then a new process whose replay clock starts at `clock`."""
    d.kill()
    d.args[d.args.index("--start") + 1] = clock[:19] + "-05:00"
    d.start()
    d.wait_ready()


def test_the_paper_account_carries_over_days_survives_kills_and_resets_between_sessions(
        data_dir: Path, two_day_backtest: dict[str, float], tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    # 600x from 15:00: 6 real seconds to the window's end for the start-up (at 1200x from 15:30, a
    # start-up of 2 s on a loaded machine began after the window and never wrote day 1's report)
    d = make_daemon(tmp_path / "d", data_dir, start=f"{DAY}T15:00:00-05:00", speed=600,
                    paper={"initial_cash": 1_000_000})
    daemons.append(d)
    d.env["MISMARTERAD_FAILPOINTS"] = "report_writing:1"  # killed half-way through day 1's report
    d.start()
    d.wait_ready()
    assert d.wait_exit(60) == -signal.SIGKILL
    [closed] = [e for e in d.log_events() if e.get("event") == "paper_day_closed"]
    assert closed["day"] == DAY and closed["positions"] == {}
    ended = closed["cash"]
    assert round(ended, 6) == two_day_backtest["day1_cash"] != 1_000_000
    del d.env["MISMARTERAD_FAILPOINTS"]

    restart_at(d, f"{DAY2}T14:40:00")  # down overnight; day 2's window is under way at the restart
    d.wait_for(lambda s: s["state"] == "RUNNING" and s["session_date"] == DAY2, 15, "day 2 to start")
    refused = d.ctl("paper", "reset")
    assert refused.returncode == 1 and "a session is running" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    before_kill = d.wait_for(lambda s: s["clock"] >= f"{DAY2}T15:10", 30, "day 2 at 15:10")
    restart_at(d, before_kill["clock"])
    done = d.wait_for(lambda s: s["state"] == "STOPPED" and (s["last_report"] or {}).get("date") == DAY2, 60,
                      "day 2's report")
    day2 = summary(d, DAY2)
    assert day2["initial_equity"] == round(ended, 6), "day 2 opened with day 1's ending cash"
    assert day2["final_equity"] == two_day_backtest["final_equity"], "no fill lost or counted twice"
    assert round(done["account"]["cash"], 6) == day2["final_equity"]
    opened = [e for e in d.log_events() if e.get("event") == "paper_day_opened" and e.get("day") == DAY2]
    assert [e["source"] for e in opened] == [DAY, "restart"] and opened[0]["cash"] == opened[1]["cash"] == ended
    assert d.request("positions")["result"] == []

    d.config_path.write_text(d.config_path.read_text().replace("initial_cash = 1000000", "initial_cash = 250000"))
    assert d.ctl("reload").returncode == 0
    reset = d.ctl("--json", "paper", "reset")
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout) == {"reset": True, "cash": 250_000.0, "equity": 250_000.0, "positions": 0}
    assert d.status()["account"] == {"cash": 250_000.0, "equity": 250_000.0, "positions_value": 0.0}
    [logged] = [e for e in d.log_events() if e.get("event") == "paper_account_reset"]
    assert logged["level"] == "info" and logged["by"].startswith("uid ") and logged["previous_cash"] == done["account"]["cash"]
