"""The real daemon process, driven only through its socket, metrics port, signals and NOTIFY_SOCKET."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from support.daemon_process import DAEMON_SESSION_CONFIG as SPY_CONFIG
from support.daemon_process import DAY, DaemonProcess, base_env, executable, launch


def with_strategy(tmp_path: Path, class_name: str, source: str) -> Path:
    """The SPY session config trading only `class_name`, defined by `source` in a user file."""
    strategy = tmp_path / f"{class_name.lower()}.py"
    strategy.write_text(source)
    config = json.loads(SPY_CONFIG.read_text())
    config["strategies"] = [{"file": str(strategy), "class": class_name}]
    path = tmp_path / f"{class_name.lower()}.json"
    path.write_text(json.dumps(config))
    return path


@pytest.mark.slow
def test_a_replayed_day_runs_through_the_schedule_and_trades_like_the_backtest(
        data_dir: Path, backtest_trades: str, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, start=f"{DAY}T07:30:00-05:00")  # 90 replayed minutes early
    assert d.notify.seen("READY=1"), "READY=1 must follow start-up"
    first = d.status()
    assert first["state"] == "STOPPED" and first["next_start"] == f"{DAY}T09:00:00-05:00"
    assert first["next_stop"] == f"{DAY}T16:05:00-05:00"
    running = d.wait_for(lambda s: s["state"] == "RUNNING", 30, "the session to start")
    metrics = d.metrics()
    assert 'mismarterad_system_state{state="RUNNING"} 1.0' in metrics
    assert "mismarterad_session_active 1.0" in metrics
    mid = d.wait_for(lambda s: s["bars_processed"] > 100, 30, "bars to flow")
    assert mid["clock"] > running["clock"] and mid["session_date"] == DAY
    assert mid["next_start"] == "2011-01-05T09:00:00-05:00", "a start that has passed is never shown"
    assert re.search(r'mismarterad_bars_processed_total\{interval="1m",symbol="SPY"\} [1-9]', d.metrics())
    assert d.ctl("threads").returncode == 0
    done = d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 60, "the session to stop")
    assert done["clock"] >= f"{DAY}T16:05"
    assert done["next_start"] == "2011-01-05T09:00:00-05:00"
    report = Path(d.root / "state" / "reports" / DAY)
    assert (report / "trades.csv").read_text() == backtest_trades
    listed = d.ctl("--json", "report", DAY)
    assert listed.returncode == 0 and "trades.csv" in json.loads(listed.stdout)["files"]
    assert json.loads(listed.stdout)["html"] == str(report / "report.html") and (report / "report.html").is_file()
    assert json.loads(listed.stdout)["summary"]["performance"]["rows"][0]["symbol"] == "SPY"
    assert d.notify.seen("WATCHDOG=1") and any(m.startswith("STATUS=RUNNING") for _, m in d.notify.messages)
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0
    assert d.notify.seen("STOPPING=1")
    assert not d.socket_path.exists()


@pytest.mark.slow
def test_kill_9_mid_session_and_restart_catches_up_to_the_same_trades(
        data_dir: Path, backtest_trades: str, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, start=f"{DAY}T09:25:00-05:00", speed=1200)
    before = d.wait_for(lambda s: s["clock"] >= f"{DAY}T12:00", 60, "noon")
    d.proc.kill()  # type: ignore[union-attr]  # SIGKILL: no clean-up at all
    d.proc.wait(10)  # type: ignore[union-attr]
    d.args[d.args.index("--start") + 1] = before["clock"][:19] + "-05:00"
    d.start()  # the stale socket file is replaced; the abandoned run is marked in the database
    d.wait_ready()
    assert "mismarterad_previous_stop_unclean 1.0" in d.metrics(), "a death, for the watchdog-restart alert"
    assert any(e.get("event") == "previous_daemon_died" and e["level"] == "warning" for e in d.log_events())
    # inside the window: the start job runs at once (within moments of READY), catching up
    d.wait_for(lambda s: s["state"] == "RUNNING" and s["session_date"] == DAY, 10, "the catch-up start")
    d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 60, "the session to stop")
    assert (d.root / "state" / "reports" / DAY / "trades.csv").read_text() == backtest_trades
    assert any(e.get("event") == "abandoned_runs_marked" for e in d.log_events())


def test_sighup_with_a_broken_config_keeps_the_old_one(data_dir: Path, tmp_path: Path,
                                                       daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, speed=60)
    good = d.config_path.read_text()
    d.config_path.write_text(good + "lead_minuts = 10\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while not any(e.get("event") == "reload_rejected" for e in d.log_events()) and time.monotonic() < deadline:
        time.sleep(0.1)
    rejected = [e for e in d.log_events() if e.get("event") == "reload_rejected"]
    assert rejected and "lead_minuts: unknown key" in rejected[0]["error"]
    assert d.status()["next_start"] == f"{DAY}T09:00:00-05:00"  # the old plan stands
    reply = d.request("reload")
    assert not reply["ok"] and reply["error"]["code"] == "config_invalid"
    d.config_path.write_text(good + "lead_minutes = 10\n")
    d.signal(signal.SIGHUP)
    d.wait_for(lambda s: s["next_start"] == f"{DAY}T09:20:00-05:00", 10, "the new plan")
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0


def test_garbage_and_crowds_on_the_socket_never_hurt_the_daemon(data_dir: Path, tmp_path: Path,
                                                                daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, speed=60)
    assert oct(d.socket_path.stat().st_mode & 0o777) == "0o660"

    def exchange(payload: bytes) -> list[dict[str, object]]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(d.socket_path))
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            return [json.loads(line) for line in s.makefile("rb") if line.strip()]

    assert exchange(b"this is not json\n")[0]["error"]["code"] == "bad_json"
    assert exchange(b"\xff\xfe\n")[0]["error"]["code"] == "bad_json"
    assert exchange(b"[1, 2]\n")[0]["error"]["code"] == "bad_request"
    assert exchange(b'{"id": 7}\n')[0] == {"id": 7, "ok": False, "error": {
        "code": "bad_request", "message": "'cmd' must be a non-empty string"}}
    assert exchange(b'{"id": 8, "cmd": "sudo"}\n')[0]["error"]["code"] == "unknown_command"
    assert exchange(b'{"id": 9, "cmd": "report", "args": {"words": ["yesterday"]}}\n')[0]["error"]["code"] == \
        "bad_request"
    replies = exchange(b'{"id": 1, "cmd": "hello"}\nnot json\n{"id": 2, "cmd": "time"}\n')
    assert [r["ok"] for r in replies] == [True, False, True] and replies[0]["result"]["protocol"] == 1
    assert exchange(b"x" * (70 * 1024))[0]["error"]["code"] == "line_too_long"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:  # a client that vanishes mid-line
        s.connect(str(d.socket_path))
        s.sendall(b'{"id": 1, "cmd": "sta')
    crowd = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(40)]  # more than the limit
    for s in crowd:
        s.settimeout(5)
        s.connect(str(d.socket_path))
    time.sleep(1.0)  # let the daemon accept them all; the refused ones get their answer at once
    codes = []
    for s in crowd:
        with contextlib.suppress(BrokenPipeError):  # refused and closed before we spoke
            s.sendall(b'{"id": 1, "cmd": "status"}\n')
        reply = json.loads(s.makefile("rb").readline())
        codes.append("ok" if reply["ok"] else reply["error"]["code"])
    for s in crowd:
        s.close()
    assert set(codes) == {"ok", "too_many_clients"} and codes.count("ok") <= 32, codes
    results: list[bool] = []

    def client() -> None:
        for _ in range(5):
            results.append(d.request("status")["ok"])

    workers = [threading.Thread(target=client) for _ in range(20)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert results.count(True) == 100
    assert d.status()["state"] in ("STOPPED", "STARTING", "RUNNING")


def _as_nobody(socket_path: Path) -> str:
    """Ask for status from a forked child running as uid/gid 65534; return its error code or 'ok'."""
    from mismarterad.ctl.client import ControlClient, CtlError

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, try, report, leave without running any clean-up
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            with ControlClient(socket_path, 5) as client:
                client.request("status")
            code = "ok"
        except CtlError as exc:
            code = exc.code
        except BaseException as exc:  # noqa: BLE001
            code = f"crash:{exc!r}"
        os.write(write_end, code.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as handle:
        return handle.read()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_other_users_are_refused(data_dir: Path, daemons: list[DaemonProcess]) -> None:
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="mctl-"))  # a directory other users can traverse
    os.chmod(root, 0o755)
    d = launch(daemons, root / "d", data_dir, speed=60, socket_group="daemon")
    os.chmod(d.root, 0o755)
    assert _as_nobody(d.socket_path) == "permission_denied"  # the file mode (0660) stops it
    os.chmod(d.socket_path, 0o666)  # a careless admin: SO_PEERCRED still refuses the peer
    assert _as_nobody(d.socket_path) == "permission_denied"
    refused = [e for e in d.log_events() if e.get("event") == "control_peer_refused"]
    assert refused and "uid 65534" in refused[0]["reason"]


@pytest.mark.slow
def test_a_hung_thread_stops_the_watchdog_pings(data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    session_config = with_strategy(tmp_path, "Hang", (
        "import time\n"
        "from mismarterad.strategies import Strategy\n"
        "class Hang(Strategy):\n"
        "    def on_bar(self, symbol, interval, bar):\n"
        "        if bar.start_utc.hour == 15 and bar.start_utc.minute == 0:  # 10:00 New York\n"
        "            time.sleep(3600)\n"
    ))
    d = launch(daemons, tmp_path / "d", data_dir, session_config=session_config, start=f"{DAY}T09:40:00-05:00",
               speed=60)
    d.wait_for(lambda s: s["clock"] >= f"{DAY}T10:01", 60, "the strategy to hang")
    hung_at = time.monotonic()
    d.wait_for(lambda s: not s["watchdog_healthy"], 30, "the watchdog to notice")
    time.sleep(2)
    last_ping = max(d.notify.seen("WATCHDOG=1"))
    assert time.monotonic() - last_ping > 1.5, "pings must stop while a thread is stuck"
    assert last_ping - hung_at < 15
    threads = {t["name"]: t for t in json.loads(d.ctl("--json", "threads").stdout)}
    assert threads["AnalysisEngine"]["last_loop_age_seconds"] > 10
    assert "mismarterad_watchdog_healthy 0.0" in d.metrics()


def test_config_errors_exit_78_naming_the_key(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'session_config = "{SPY_CONFIG}"\nlead_minutes = -4\nbroker = "ib"\nfoo = 1\n')
    result = subprocess.run([executable("mismarterad"), "run", "--config", str(bad)],
                            env=base_env(tmp_path / "s", data_dir), capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "lead_minutes: must be >= 0, got -4" in result.stderr
    assert "broker: must be one of 'paper', 'alpaca' or 'schwab', got 'ib'" in result.stderr
    assert "foo: unknown key" in result.stderr
    missing = tmp_path / "missing.toml"
    missing.write_text('session_config = "nowhere.json"\n')
    result = subprocess.run([executable("mismarterad"), "run", "--config", str(missing)],
                            env=base_env(tmp_path / "s", data_dir), capture_output=True, text=True, timeout=60)
    assert result.returncode == 78 and "nowhere.json" in result.stderr
    result = subprocess.run([executable("mismarterad"), "run", "--config", str(missing), "--clock", "replay"],
                            env=base_env(tmp_path / "s", data_dir), capture_output=True, text=True, timeout=60)
    assert result.returncode == 78


def test_mismarterctl_without_a_daemon(tmp_path: Path) -> None:
    result = subprocess.run([executable("mismarterctl"), "--socket", str(tmp_path / "none.sock"), "status"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 69 and "not running" in result.stderr


def test_a_failing_session_is_retried_with_backoff_then_given_up_while_the_daemon_stays(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    import shutil

    broken = tmp_path / "data"
    shutil.copytree(data_dir, broken)
    [month] = list(broken.rglob("2011-01.parquet"))
    month.write_bytes(b"this is not parquet")  # a damaged store file: every load of the day fails
    d = launch(daemons, tmp_path / "d", broken, start=f"{DAY}T09:10:00-05:00", speed=60, max_session_restarts=2,
                    restart_backoff_seconds=0.2)
    final = d.wait_for(lambda s: s["session_restarts"] == 2 and s["session_failures"] == 3, 30,
                       "two restarts and the give-up")
    assert final["state"] == "ERROR" and "SessionCoordinator failed" in final["error"]
    assert d.request("hello")["ok"]  # the daemon itself is fine and still answers
    events = [e.get("event") for e in d.log_events()]
    assert events.count("session_restarting") == 2 and "session_given_up" in events
    assert "mismarterad_session_failures_total 3.0" in d.metrics()
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0


def test_sigterm_mid_session_flattens_writes_the_report_and_exits_0(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, start=f"{DAY}T09:25:00-05:00", speed=300)
    deadline = time.monotonic() + 60
    while not d.request("positions")["result"]:
        assert time.monotonic() < deadline, "no position was ever opened"
        time.sleep(0.1)
    stopping = time.monotonic()
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0
    assert time.monotonic() - stopping < 10
    report = d.root / "state" / "reports" / DAY
    orders = (report / "orders.csv").read_text().splitlines()
    assert orders[-1].split(",")[4] == "market_on_close" and orders[-1].split(",")[7] == "filled"
    assert json.loads((report / "summary.json").read_text())["mode"] == "live"
    run = json.loads((report / "run.json").read_text())
    assert run["status"] == "completed"


def test_a_session_that_cannot_even_start_is_retried_and_the_daemon_answers_throughout(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    # requests are checked when the config is loaded (a bad one is exit 78 before any session), so
    # this strategy answers that first check and fails each time a session builds it
    session_config = with_strategy(tmp_path, "Broken", (
        "from mismarterad.strategies import Strategy\n"
        "built = 0\n"
        "class Broken(Strategy):\n"
        "    def indicator_requests(self):\n"
        "        global built\n"
        "        built += 1\n"
        "        if built > 1:\n"
        "            raise RuntimeError('cannot build my indicators')\n"
        "        return []\n"
    ))
    d = launch(daemons, tmp_path / "d", data_dir, session_config=session_config,
               start=f"{DAY}T09:10:00-05:00", speed=60, max_session_restarts=1, restart_backoff_seconds=0.2)
    final = d.wait_for(lambda s: s["session_failures"] == 2, 30, "the failed start and its retry")
    assert final["state"] == "ERROR" and "cannot build my indicators" in final["error"]
    for cmd in ("status", "threads", "positions", "orders", "trades", "quality", "session"):
        assert d.request(cmd)["ok"], cmd
    assert d.request("flatten")["error"]["code"] == "refused"  # no running session to flatten
    assert d.request("halt")["result"]["in_session"] is False  # the kill switch works without one
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0


def test_with_no_lag_the_scheduled_stop_still_lets_the_day_end_in_order(
        data_dir: Path, backtest_trades: str, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    d = launch(daemons, tmp_path / "d", data_dir, start=f"{DAY}T15:00:00-05:00", speed=600, lag_minutes=0,
               on_shutdown="leave")
    d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 60, "the session to stop")
    report = d.root / "state" / "reports" / DAY
    assert json.loads((report / "summary.json").read_text())["bars_processed"] == 390
    assert (report / "trades.csv").read_text() == backtest_trades  # the engine's flatten happened


@pytest.mark.slow
def test_a_window_missed_while_the_daemon_was_frozen_is_not_run_late(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    # 04:00 at 3000x: 6 s of real time before the 09:00 start, for a start-up on a busy machine
    d = launch(daemons, tmp_path / "d", data_dir, start=f"{DAY}T04:00:00-05:00", speed=3000)
    assert d.status()["state"] == "STOPPED"
    d.signal(signal.SIGSTOP)  # frozen from before 09:00 until after 16:05 (16 s: 13.3 h of replay at 3000x)
    time.sleep(16)
    d.signal(signal.SIGCONT)
    d.wait_for(lambda s: s["next_start"] == "2011-01-05T09:00:00-05:00", 20, "the next day's plan")
    # status shows the next day as soon as the thaw makes today's start a past one; the missed
    # jobs run after that. Which runs first is the scheduler's choice: the start job finds its
    # window ended, or the stop job ran first and the start job finds the day done
    deadline = time.monotonic() + 20
    while not {"session_start_too_late", "session_start_skipped"} & set(
            events := [e.get("event") for e in d.log_events()]):
        assert time.monotonic() < deadline, events
        time.sleep(0.1)
    assert "session_starting" not in events
    after = d.status()
    assert after["session_date"] is None and after["last_report"] is None
    assert not (d.root / "state" / "reports" / DAY).exists()


@pytest.mark.slow
def test_two_strategies_on_one_symbol_keep_their_own_books_in_a_replayed_day(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    config = json.loads(SPY_CONFIG.read_text())
    config["strategies"] = [config["strategies"][0],
                            {"name": "sma_cross", "symbols": ["SPY"],
                             "params": {"fast": 3, "slow": 8, "quantity": 40, "interval": "1m"}}]
    session = tmp_path / "two.json"
    session.write_text(json.dumps(config))
    bt = tmp_path / "bt"
    subprocess.run([executable("mismarterad"), "backtest", str(session), "--from", DAY, "--to", DAY, "--out",
                    str(bt / "out")], env=base_env(bt / "state", data_dir), check=True, capture_output=True,
                   timeout=120)
    d = launch(daemons, tmp_path / "d", data_dir, session_config=session, start=f"{DAY}T09:25:00-05:00",
               lag_minutes=60)  # the session stops an hour after the close: its final P&L is read meanwhile
    held = d.wait_for(lambda s: s["state"] == "RUNNING" and s["bars_processed"] > 30, 60, "trading")
    assert held["position_mismatches"] == 0
    owners: set[str] = set()
    deadline = time.monotonic() + 20
    while not any("sma_cross#1=" in o for o in owners):  # a position is shown with its owner
        assert time.monotonic() < deadline, owners
        owners |= {row["strategies"] for row in d.request("positions")["result"]}
        time.sleep(0.05)
    d.wait_for(lambda s: s["state"] == "RUNNING" and s["clock"] >= f"{DAY}T16:00", 60, "the close")
    while d.request("positions")["result"]:  # the close's flatten
        time.sleep(0.05)
    shown = d.ctl("--json", "pnl")
    assert shown.returncode == 0, shown.stderr
    d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 60, "the session to stop")
    report = d.root / "state" / "reports" / DAY
    assert (report / "trades.csv").read_text() == (bt / "out" / "trades.csv").read_text()
    strategies = {line.rsplit(",", 1)[1] for line in (report / "trades.csv").read_text().splitlines()[1:]}
    assert strategies == {"sma_cross#0", "sma_cross#1"}
    assert json.loads((report / "summary.json").read_text())["strategies"].keys() == strategies
    # the day's P&L as mismarterctl showed it after the close is the report's, strategy by strategy
    pnl = json.loads(shown.stdout)
    assert pnl["date"] == DAY and [r["strategy"] for r in pnl["strategies"]] == ["sma_cross#0", "sma_cross#1", "total"]
    with (report / "trades.csv").open() as handle:
        trades = list(csv.DictReader(handle))
    for row in pnl["strategies"]:
        own = [float(t["pnl"]) for t in trades if row["strategy"] in (t["strategy"], "total")]
        assert row["realized"] == pytest.approx(sum(own), abs=1e-6) and row["trades"] == len(own) > 0
        assert row["unrealized"] == 0 and row["total"] == row["realized"] and row["fees"] == 0  # flat, no commission
