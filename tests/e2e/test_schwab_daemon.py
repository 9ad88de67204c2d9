"""The real daemon trading through the real Schwab emulator: a replayed day equals its backtest,
and a refused app secret, a token file others can read or one 7 days old fail clearly with
nothing sent. Both processes are reached only from outside (socket, metrics, files, the
emulator's own request log and API)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest
from support.daemon_process import DAY
from support.schwab_day import SchwabDay, start_schwab_day
from support.schwab_emulator import APP_KEY, APP_SECRET
from support.venue_day import backtest_trades, regular_session_bars

from mismarterad.integrations.schwab import TOKEN_FILE_NAME

PARITY_SPEED = 120.0


@pytest.fixture
def days() -> Iterator[list[SchwabDay]]:
    started: list[SchwabDay] = []
    yield started
    for day in started:
        day.daemon.kill()
        day.daemon.notify.close()
        day.emulator.stop()


def everything_written(day: SchwabDay, extra: list[str]) -> bytes:
    """Every byte the daemon put anywhere a person or a scraper can read (its token file aside:
    the one place the tokens belong): its log, state directory, data directory, metrics, ctl."""
    out = [day.daemon.log_text().encode(), *(t.encode() for t in extra)]
    for root in (day.daemon.root / "state", day.daemon_data):
        out += [p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != TOKEN_FILE_NAME]
    return b"\n".join(out)


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
    d = day.daemon
    d.start()
    d.wait_ready()
    running = d.wait_for(lambda s: s["state"] == "RUNNING" and s["broker"]["connected"], 60,
                         "the session to start, connected")
    assert running["broker"]["name"] == "schwab" and 0 <= running["broker"]["token_age_days"] < 1
    mid = d.wait_for(lambda s: s["bars_processed"] > 60, 120, "bars to flow from the emulator")
    assert mid["error"] is None
    metrics = d.metrics()
    assert "mismarterad_broker_connected 1.0" in metrics and "mismarterad_schwab_token_age_seconds" in metrics
    status_text = d.ctl("status").stdout
    orders_text = d.ctl("--json", "orders").stdout
    done = d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 300, "the day to end")
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
    state = day.emulator.state()
    assert state["positions"] == [] and state["open_orders"] == []

    # the live bars were kept: the daemon's store (empty at the start) holds the day's session
    assert regular_session_bars(day.daemon_data, "SPY", DAY) == regular_session_bars(emulator_data, "SPY", DAY)
    assert regular_session_bars(day.daemon_data, "SPY", "2011-01-03"), "history came over REST"

    # the app's key and secret and the tokens appear nowhere the daemon writes or answers
    final = [d.metrics(), status_text, orders_text, d.ctl("--json", "config").stdout, d.ctl("status").stdout]
    written = everything_written(day, final)
    assert not [s for s in secrets_of(day) if s in written]
