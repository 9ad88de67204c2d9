"""The real daemon trading through the real Schwab emulator: a replayed day equals its backtest,
and a refused app secret, a token file others can read or one 7 days old fail clearly with
nothing sent. Both processes are reached only from outside (socket, metrics, files, the
emulator's own request log and API)."""

from __future__ import annotations

import json
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
