"""The real daemon against what an unattended host does to it: a second daemon on the same state
directory, a kill during the report write, a strategy file that calls sys.exit() at import."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from support.daemon_process import DAEMON_SESSION_CONFIG as SPY_CONFIG
from support.daemon_process import DAY, DaemonProcess, base_env, executable, launch, make_daemon


def live_runs(state_dir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(f"file:{state_dir / 'mismarterad.db'}?mode=ro", uri=True) as db:
        return list(db.execute("SELECT id, status FROM runs WHERE kind = 'live' ORDER BY id"))


def test_a_second_daemon_on_the_same_state_directory_exits_75_and_the_first_keeps_running(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    first = launch(daemons, tmp_path / "d1", data_dir, start=f"{DAY}T09:25:00-05:00", speed=60)
    first.wait_for(lambda s: s["state"] == "RUNNING", 30, "the first daemon's session")
    state = first.root / "state"
    [(run_id, status)] = live_runs(state)
    assert status == "running"
    # another socket and metrics port, the same state directory
    second = make_daemon(tmp_path / "d2", data_dir, start=f"{DAY}T09:25:00-05:00", speed=60)
    second.env["MISMARTERAD_STATE_DIR"] = str(state)
    daemons.append(second)
    second.start()
    assert second.wait_exit(30) == 75
    lines = second.log_text().strip().splitlines()
    assert len(lines) == 1, lines
    assert f"pid {first.proc.pid}" in lines[0] and "mismarterad.lock" in lines[0]  # type: ignore[union-attr]
    assert not second.socket_path.exists()
    assert live_runs(state) == [(run_id, "running")]  # not marked abandoned
    assert first.status()["state"] == "RUNNING" and first.proc.poll() is None  # type: ignore[union-attr]
    assert (state / "mismarterad.lock").read_text() == f"{first.proc.pid} running\n"  # type: ignore[union-attr]
    first.signal(signal.SIGTERM)
    assert first.wait_exit(10) == 0
    assert live_runs(state) == [(run_id, "completed")]
    assert (state / "mismarterad.lock").read_text() == f"{first.proc.pid} stopped\n"  # type: ignore[union-attr]


def test_a_report_lost_to_a_kill_during_its_write_is_rebuilt_at_the_next_start(
        data_dir: Path, backtest_trades: str, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, start=f"{DAY}T15:50:00-05:00", speed=600)
    d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 60, "the session to stop")
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0
    reports = d.root / "state" / "reports"
    # what a kill -9 between `completed` in the database and the folder's rename leaves behind
    staging = reports / f".{DAY}.x1y2z3_a"
    (reports / DAY).rename(staging)
    (staging / "run.json").unlink()
    (reports / f".{DAY}.old").mkdir()
    d.args[d.args.index("--start") + 1] = f"{DAY}T16:20:00-05:00"  # after the window: nothing runs today
    d.start()
    d.wait_ready()
    assert sorted(p.name for p in reports.iterdir()) == [DAY]  # staging folders gone
    listed = d.ctl("--json", "report", DAY)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["summary"]["rebuilt_from_database"] is True
    assert json.loads(listed.stdout)["html"] is None  # a rebuilt report has no page
    assert (reports / DAY / "trades.csv").read_text() == backtest_trades  # the day's trades, from the database
    assert json.loads((reports / DAY / "run.json").read_text())["rebuilt_from_database"] is True
    events = d.log_events()
    assert [e["level"] for e in events if e.get("event") == "report_rebuilt"] == ["warning"]
    assert len([e for e in events if e.get("event") == "report_staging_removed"]) == 2
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0


GOOD = ("from mismarterad.strategies import Strategy\n"
        "class Quiet(Strategy):\n"
        "    pass\n")
EXITS = "import sys\nsys.exit(3)\n"


def quiet_config(tmp_path: Path) -> tuple[Path, Path]:
    strategy = tmp_path / "quiet.py"
    strategy.write_text(GOOD)
    config = json.loads(SPY_CONFIG.read_text())
    config["strategies"] = [{"file": str(strategy), "class": "Quiet"}]
    path = tmp_path / "quiet.json"
    path.write_text(json.dumps(config))
    return path, strategy


def test_a_strategy_file_calling_sys_exit_at_import_is_a_rejected_reload_not_a_stop(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    config, strategy = quiet_config(tmp_path)
    d = launch(daemons, tmp_path / "d", data_dir, session_config=config, start=f"{DAY}T07:00:00-05:00", speed=60)
    strategy.write_text(EXITS)
    reply = d.request("reload")
    assert not reply["ok"] and reply["error"]["code"] == "config_invalid"
    assert "quiet.py" in reply["error"]["message"] and "sys.exit(3)" in reply["error"]["message"]
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while len([e for e in d.log_events() if e.get("event") == "reload_rejected"]) < 2:
        assert time.monotonic() < deadline, d.log_text()
        time.sleep(0.1)
    rejected = [e for e in d.log_events() if e.get("event") == "reload_rejected"]
    assert all("quiet.py" in e["error"] and "sys.exit(3)" in e["error"] for e in rejected)
    assert d.proc.poll() is None and d.status()["state"] == "STOPPED"  # type: ignore[union-attr]
    assert d.notify.seen("READY=1")[-1] >= d.notify.seen("RELOADING=1")[-1]
    strategy.write_text(GOOD)
    assert d.request("reload")["ok"]
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0


def test_config_check_and_run_refuse_a_strategy_file_calling_sys_exit_with_78(
        data_dir: Path, tmp_path: Path) -> None:
    config, strategy = quiet_config(tmp_path)
    strategy.write_text(EXITS)
    env = base_env(tmp_path / "state", data_dir)
    check = subprocess.run([executable("mismarterad"), "config", "check", str(config)], env=env,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 78
    [line] = check.stdout.splitlines()
    assert line.startswith("strategies[0].file: importing quiet.py failed: it called sys.exit(3)")
    daemon_toml = tmp_path / "daemon.toml"
    daemon_toml.write_text(f'session_config = "{config}"\nsocket_path = "{tmp_path / "s.sock"}"\n')
    run = subprocess.run([executable("mismarterad"), "run", "--config", str(daemon_toml)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 78 and len(run.stderr.splitlines()) == 1 and "sys.exit(3)" in run.stderr
