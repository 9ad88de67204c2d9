"""The real daemon trading through the real Schwab emulator: a replayed day equals its backtest,
and a refresh token Schwab refuses, a token file others can read, none at all, or one 7 days old
fail clearly, saying what to run, with nothing sent. Both processes are reached only from outside (socket, metrics, files, the
emulator's own request log and API)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import time
from pathlib import Path

import pytest
from support.daemon_process import DAY
from support.schwab_day import SchwabDay, start_schwab_day
from support.schwab_emulator import APP_KEY, APP_SECRET
from support.venue_day import (
    assert_flat_and_bars_kept,
    backtest_trades,
    everything_written,
    final_outputs,
    replay_whole_day,
)

from mismarterad.integrations.schwab import TOKEN_FILE_NAME

PARITY_SPEED = 120.0


@pytest.fixture
def days(venue_days: list[SchwabDay]) -> list[SchwabDay]:
    return venue_days


def secrets_of(day: SchwabDay) -> list[bytes]:
    token = json.loads((day.daemon.root / "state" / TOKEN_FILE_NAME).read_text())["token"]
    return [APP_KEY.encode(), APP_SECRET.encode(), token["access_token"].encode(), token["refresh_token"].encode()]


@pytest.mark.slow
def test_a_replayed_day_through_the_schwab_emulator_trades_like_the_backtest(
        tmp_path: Path, emulator_data: Path, alpaca_session: Path, days: list[SchwabDay]) -> None:
    expected = backtest_trades(alpaca_session, emulator_data, DAY, tmp_path)
    assert expected.count("\n") > 2, "the reference day trades"
    day = start_schwab_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(9, 20), speed=PARITY_SPEED)
    days.append(day)
    replayed = replay_whole_day(day)
    assert replayed.running["broker"]["name"] == "schwab" and 0 <= replayed.running["broker"]["token_age_days"] < 1
    assert replayed.mid["error"] is None
    metrics = replayed.metrics
    assert "mismarterad_broker_connected 1.0" in metrics and "mismarterad_schwab_token_age_seconds" in metrics
    done = replayed.done
    assert done["session_failures"] == 0 and done["broker"]["reconnects"] == {"data": 0, "trading": 0}
    assert (day.report(DAY) / "trades.csv").read_text() == expected

    # the emulator's account: each POST became one order, each bound to one of ours, flat after the close
    posted = day.posted()
    order_ids = [p["order_id"] for p in posted]
    assert posted and None not in order_ids and len(order_ids) == len(set(order_ids))
    bound = day.ledger()
    assert set(bound) == set(order_ids) and len(set(bound.values())) == len(bound), "one order per client id"
    orders_csv = (day.report(DAY) / "orders.csv").read_text()
    assert all(cid in orders_csv for cid in bound.values())
    assert_flat_and_bars_kept(day, emulator_data, DAY)

    # the app's key and secret and the tokens appear nowhere the daemon writes or answers
    final = final_outputs(day, replayed)
    written = everything_written(day, final, skip=frozenset({TOKEN_FILE_NAME}))  # the tokens' own place
    assert not [s for s in secrets_of(day) if s in written]


def _age_token(day: SchwabDay, days: float) -> None:
    path = day.daemon.root / "state" / TOKEN_FILE_NAME
    wrapped = json.loads(path.read_text())
    wrapped["creation_timestamp"] -= int(days * 86_400)
    path.write_text(json.dumps(wrapped))


@pytest.mark.parametrize(("days_old", "said"), [(7.01, "refuses it after 7"),
                                                 (6.8, "before this session's close at 16:00")])
def test_a_token_that_dies_before_the_close_stops_the_session_start_saying_what_to_run_and_sends_nothing(
        tmp_path: Path, emulator_data: Path, alpaca_session: Path, days: list[SchwabDay], days_old: float,
        said: str) -> None:
    """7 days old, or 6.8 at 10:00 (it would die at 14:48, mid-day, and leave the day-run
    unable to reach the account, not even to flatten): the same refusal."""
    day = start_schwab_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(10, 0), speed=60,
                           max_session_restarts=0)
    days.append(day)
    _age_token(day, days_old)
    day.daemon.start()
    day.daemon.wait_ready()
    failed = day.daemon.wait_for(lambda s: s["session_failures"] >= 1, 20, "the session start to fail")
    assert "mismarterad auth schwab" in failed["error"] and said in failed["error"], failed["error"]
    assert day.venue_requests() == [], "nothing reached Schwab"
    assert failed["broker"]["token_age_days"] > days_old - 0.01
    [age] = [float(line.split()[1]) for line in day.daemon.metrics().splitlines()
             if line.startswith("mismarterad_schwab_token_age_seconds ")]
    assert days_old * 86_400 <= age < days_old * 86_400 + 600


def test_a_refresh_token_schwab_refuses_stops_the_session_start_saying_what_to_run(
        tmp_path: Path, emulator_data: Path, alpaca_session: Path, days: list[SchwabDay]) -> None:
    day = start_schwab_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(10, 0), speed=60,
                           max_session_restarts=0)
    days.append(day)
    day.emulator.fault("expire_refresh_token")  # as if the 7 days ended early at Schwab
    day.daemon.start()
    day.daemon.wait_ready()
    failed = day.daemon.wait_for(lambda s: s["session_failures"] >= 1, 20, "the session start to fail")
    assert "refused" in failed["error"] and "mismarterad auth schwab" in failed["error"], failed["error"]
    sent = day.venue_requests()
    assert [r["path"] for r in sent] == ["/trader/v1/accounts/accountNumbers", "/v1/oauth/token"], sent
    assert not [s for s in secrets_of(day) if s in everything_written(day, [day.daemon.metrics()],
                                                                      skip=frozenset({TOKEN_FILE_NAME}))]


def test_a_token_file_others_can_read_stops_the_daemon_with_exit_78(
        tmp_path: Path, emulator_data: Path, alpaca_session: Path, days: list[SchwabDay]) -> None:
    day = start_schwab_day(tmp_path, emulator_data, alpaca_session, day=DAY, start=time(10, 0), speed=60)
    days.append(day)
    token = day.daemon.root / "state" / TOKEN_FILE_NAME
    os.chmod(token, 0o644)
    proc = subprocess.run(day.daemon.command(), env=day.daemon.env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 78 and "schwab.token_file" in proc.stderr and "0600" in proc.stderr, proc.stderr
    assert not [s for s in secrets_of(day) if s.decode() in proc.stderr + proc.stdout]
    token.unlink()
    proc = subprocess.run(day.daemon.command(), env=day.daemon.env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 78 and "mismarterad auth schwab" in proc.stderr, proc.stderr
    assert day.venue_requests() == [], "nothing reached Schwab"
