"""The real daemon trading through the real Alpaca emulator: a replayed day equals its backtest,
and wrong keys, an endpoint nobody answers and an exposed credentials file fail clearly with
nothing sent. Both processes are reached only from outside (socket, metrics, files, the
emulator's own request log)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time as time_module
from datetime import time
from pathlib import Path

import pytest
from support.alpaca_day import (
    AlpacaDay,
    backtest_trades,
    start_alpaca_day,
)
from support.alpaca_emulator import KEY_ID, SECRET
from support.daemon_process import DAY, free_port
from support.venue_day import (
    assert_flat_and_bars_kept,
    everything_written,
    final_outputs,
    replay_whole_day,
)

PARITY_SPEED = 120.0


@pytest.fixture
def days(venue_days: list[AlpacaDay]) -> list[AlpacaDay]:
    return venue_days


@pytest.mark.slow
def test_a_replayed_day_through_the_emulator_trades_like_the_backtest(
        tmp_path: Path, emulator_data: Path, alpaca_session: Path, days: list[AlpacaDay]) -> None:
    expected = backtest_trades(alpaca_session, emulator_data, DAY, tmp_path)
    assert expected.count("\n") > 2, "the reference day trades"
    day = start_alpaca_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(9, 20), speed=PARITY_SPEED)
    days.append(day)
    replayed = replay_whole_day(day)
    assert replayed.running["broker"]["name"] == "alpaca"
    assert replayed.mid["error"] is None
    assert "mismarterad_broker_connected 1.0" in replayed.metrics
    done = replayed.done
    assert done["session_failures"] == 0 and done["broker"]["reconnects"] == {"data": 0, "trading": 0}
    assert (day.report(DAY) / "trades.csv").read_text() == expected

    # the emulator's account: every order known, none sent twice, flat after the close
    posted = day.posted_ids()
    assert posted and len(posted) == len(set(posted)), "no client_order_id was POSTed twice"
    orders_csv = (day.report(DAY) / "orders.csv").read_text()
    assert all(cid in orders_csv for cid in posted)
    assert_flat_and_bars_kept(day, emulator_data, DAY)

    # the secret appears nowhere the daemon writes or answers
    final = final_outputs(day, replayed)
    assert SECRET.encode() not in everything_written(day, final)


def test_wrong_keys_fail_the_session_start_within_seconds_and_send_nothing(
        tmp_path: Path, emulator_data: Path, alpaca_session: Path, days: list[AlpacaDay]) -> None:
    wrong = "not-the-secret-0123456789"
    day = start_alpaca_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(10, 0), speed=60,
                           secret=wrong, max_session_restarts=0)
    days.append(day)
    before = len(day.venue_requests())
    day.daemon.start()
    day.daemon.wait_ready()
    failed = day.daemon.wait_for(lambda s: s["session_failures"] >= 1, 20, "the session start to fail")
    assert "APCA_API_KEY_ID" in failed["error"] and wrong not in failed["error"], failed["error"]
    sent = day.venue_requests()[before:]
    assert sent and all(r["path"] == "/v2/account" for r in sent), f"only the key check was sent: {sent}"
    assert day.daemon.status()["state"] != "RUNNING"
    log = day.daemon.log_text()
    assert "session_start_failed" in log and wrong not in log
    assert wrong.encode() not in everything_written(day, [day.daemon.metrics(), day.daemon.ctl("status").stdout])


def test_an_endpoint_nobody_answers_fails_the_start_naming_the_host_and_the_daemon_keeps_running(
        tmp_path: Path, emulator_data: Path, alpaca_session: Path, days: list[AlpacaDay]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    day = start_alpaca_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(10, 0), speed=60,
                           alpaca={"endpoint": dead}, max_session_restarts=1, restart_backoff_seconds=0.5)
    days.append(day)
    day.daemon.start()
    day.daemon.wait_ready()
    failed = day.daemon.wait_for(lambda s: s["session_failures"] >= 2, 60, "the start and its retry to fail")
    assert "127.0.0.1" in failed["error"], failed["error"]
    assert day.daemon.proc is not None and day.daemon.proc.poll() is None, "the daemon outlives its broker"
    assert day.daemon.request("hello")["ok"]
    assert day.venue_requests() == [], "nothing reached the venue"


def test_a_credentials_file_others_can_read_stops_the_start_with_exit_78(
        tmp_path: Path, emulator_data: Path, alpaca_session: Path, days: list[AlpacaDay]) -> None:
    secrets = tmp_path / "alpaca.credentials"
    secrets.write_text(f"APCA_API_KEY_ID={KEY_ID}\nAPCA_API_SECRET_KEY={SECRET}\n")
    os.chmod(secrets, 0o644)
    day = start_alpaca_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(10, 0), speed=60,
                           alpaca={"credentials_file": str(secrets)})
    days.append(day)
    env = {k: v for k, v in day.daemon.env.items() if not k.startswith("APCA_")}
    proc = subprocess.run(day.daemon.command(), env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 78, proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if "alpaca.credentials" in x]
    assert re.search(r"0o?644|-rw-r--r--", line) and "0600" in line, line
    assert SECRET not in proc.stderr + proc.stdout
    assert day.venue_requests() == [], "nothing reached the venue"
    os.chmod(secrets, 0o600)
    day.daemon.env = env
    day.daemon.start()
    day.daemon.wait_ready()
    day.daemon.wait_for(lambda s: s["state"] == "RUNNING", 60, "a session with the file's keys")


@pytest.mark.slow
def test_a_shutdown_mid_session_closes_the_position_at_alpaca_with_market_orders(
        tmp_path: Path, emulator_data: Path, alpaca_session: Path, days: list[AlpacaDay]) -> None:
    day = start_alpaca_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(9, 25), speed=PARITY_SPEED)
    days.append(day)
    d = day.daemon
    d.start()
    d.wait_ready()
    deadline = time_module.monotonic() + 180
    while not d.request("positions")["result"]:
        assert time_module.monotonic() < deadline, "no position was ever opened"
        time_module.sleep(0.1)
    d.signal(signal.SIGTERM)
    assert d.wait_exit(20) == 0
    state = day.emulator.state()
    assert state["positions"] == [] and state["open_orders"] == [], state
    orders = (day.report(DAY) / "orders.csv").read_text().splitlines()
    last = orders[-1].split(",")
    assert last[4] == "market" and last[7] == "filled", orders[-1]
