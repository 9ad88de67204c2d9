"""The emulator speaks Schwab: driven by the real schwab-py 1.5.1 Client and StreamClient.

schwab-py's host is hard-coded, so its Client runs on the adapter's session (its transport
sends api.schwabapi.com to the emulator); everything else is the library's own: its requests,
its order builders, `Utils.extract_order_id`, its OAuth refresh through authlib, and its
StreamClient's LOGIN / SUBS / data frames on a replayed real day.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from authlib.integrations.base_client import OAuthError
from schwab.orders.equities import equity_buy_limit, equity_buy_market, equity_sell_market
from schwab.streaming import StreamClient, UnexpectedResponseCode
from schwab.utils import Utils

from mismarterad.core.market_data import Bar
from mismarterad.integrations.schwab import SchwabSession
from support.emulator_process import SPY_JANUARY_2011, sample_day_bars
from support.schwab_emulator import ACCOUNT_NUMBER, SchwabEmulator, running_schwab_emulator

_minutes = iter(range(1, 10_000))  # each injected minute of this module is a new one


def next_bar(price: float = 100.0, symbol: str = "SPY") -> Bar:
    """A bar of the injected emulator's day, after 11:00 New York."""
    start = datetime(2011, 1, 4, 16, 0, tzinfo=UTC) + timedelta(minutes=next(_minutes))
    return Bar(symbol, "1m", start, price, price + 0.5, price - 0.5, price + 0.25, 500)


@pytest.fixture(scope="module")
def session(schwab_injected: SchwabEmulator) -> Iterator[SchwabSession]:
    opened = schwab_injected.session()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def account(schwab_injected: SchwabEmulator) -> str:
    return schwab_injected.account_hash()


def place(session: SchwabSession, account: str, builder: Any) -> str:
    response = session.client.place_order(account, builder)
    assert response.status_code == 201 and response.content == b"", response.text
    order_id = Utils(session.client, account).extract_order_id(response)
    assert order_id is not None, response.headers
    return str(order_id)


def order(session: SchwabSession, account: str, order_id: str) -> dict[str, Any]:
    response = session.client.get_order(order_id, account)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# --- accounts, orders, positions ---------------------------------------------------------------


def test_accounts_are_addressed_by_hash_and_start_with_cash(session: SchwabSession, account: str) -> None:
    rows = session.client.get_account_numbers().json()
    assert rows == [{"accountNumber": ACCOUNT_NUMBER, "hashValue": account}] and len(account) == 64
    body = session.client.get_account(account, fields=[session.client.Account.Fields.POSITIONS]).json()
    balances = body["securitiesAccount"]["currentBalances"]
    assert balances["cashBalance"] == balances["liquidationValue"] == 100_000
    assert body["securitiesAccount"]["positions"] == []
    assert session.client.get_account("0" * 64).status_code == 404


def test_a_market_order_is_201_with_a_location_on_schwab_s_host_and_fills_at_the_next_bar_open(
        schwab_injected: SchwabEmulator, session: SchwabSession, account: str) -> None:
    response = session.client.place_order(account, equity_buy_market("SPY", 10))
    location = response.headers["Location"]
    assert location.startswith(f"https://api.schwabapi.com/trader/v1/accounts/{account}/orders/")
    order_id = str(Utils(session.client, account).extract_order_id(response))
    assert order(session, account, order_id)["status"] == "WORKING"
    bar = next_bar(50.0)
    schwab_injected.inject_bars([bar])
    filled = order(session, account, order_id)
    assert (filled["status"], filled["filledQuantity"], filled["remainingQuantity"]) == ("FILLED", 10, 0)
    [activity] = filled["orderActivityCollection"]
    [leg] = activity["executionLegs"]
    assert (activity["activityType"], leg["quantity"], leg["price"]) == ("EXECUTION", 10, 50.0)
    assert leg["time"] == bar.start_utc.strftime("%Y-%m-%dT%H:%M:%S+0000")
    positions = session.client.get_account(account, fields=[session.client.Account.Fields.POSITIONS]).json()[
        "securitiesAccount"]["positions"]
    [spy] = [p for p in positions if p["instrument"]["symbol"] == "SPY"]
    assert (spy["longQuantity"], spy["shortQuantity"], spy["averagePrice"]) == (10, 0, 50.0)
    sold = place(session, account, equity_sell_market("SPY", 10))  # SELL closes the long position
    schwab_injected.inject_bars([next_bar(51.0)])
    assert order(session, account, sold)["status"] == "FILLED"


def test_a_sell_beyond_the_position_and_a_buy_beyond_the_cash_are_refused_with_schwab_s_error_body(
        session: SchwabSession, account: str) -> None:
    short = session.client.place_order(account, equity_sell_market("QQQ", 5))
    assert short.status_code == 400 and "insufficient shares" in short.json()["message"]
    assert short.json()["errors"]
    rich = session.client.place_order(account, equity_buy_limit("SPY", 100_000, "90.00"))
    assert rich.status_code == 400 and "buying power" in rich.json()["message"]
    bad = session.client.place_order(account, {"orderType": "MARKET", "orderLegCollection": []})
    assert bad.status_code == 400 and "orderLegCollection" in bad.json()["message"]


def test_orders_are_listed_by_entered_time_and_canceled_by_id(schwab_injected: SchwabEmulator,
                                                              session: SchwabSession, account: str) -> None:
    resting = place(session, account, equity_buy_limit("SPY", 1, "1.00"))
    now = schwab_injected.now()
    listed = session.client.get_orders_for_account(account, from_entered_datetime=now - timedelta(minutes=5),
                                                   to_entered_datetime=now + timedelta(minutes=5)).json()
    assert resting in {str(o["orderId"]) for o in listed}
    early = session.client.get_orders_for_account(account, from_entered_datetime=now - timedelta(days=3),
                                                  to_entered_datetime=now - timedelta(days=2)).json()
    assert early == []
    assert session.client.cancel_order(resting, account).status_code == 200
    assert order(session, account, resting)["status"] == "CANCELED"
    again = session.client.cancel_order(resting, account)
    assert again.status_code == 400 and "already" in again.json()["message"]
    assert session.client.get_order("999", account).status_code == 404


def test_a_request_without_a_valid_token_gets_401_with_schwab_s_error_body(schwab_injected: SchwabEmulator,
                                                                            tmp_path: Path) -> None:
    forged = json.loads(schwab_injected.token_file.read_text())
    forged["token"]["access_token"] = forged["token"]["access_token"][:-4] + "beef"
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    os.chmod(path, 0o600)
    opened = schwab_injected.session(path)
    try:
        response = opened.client.get_account_numbers()
        assert response.status_code == 401 and response.json()["message"] == "Client not authorized"
    finally:
        opened.close()


# --- market data -------------------------------------------------------------------------------


def test_minute_history_matches_the_store_and_five_minute_and_daily_are_aggregated(
        schwab_replay: SchwabEmulator) -> None:
    opened = schwab_replay.session()
    try:
        start = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
        answer = opened.client.get_price_history_every_minute(
            "SPY", start_datetime=start, end_datetime=start + timedelta(minutes=59)).json()
        stored = [b for b in sample_day_bars(SPY_JANUARY_2011, "SPY", date(2011, 1, 3))
                  if start <= b.start_utc < start + timedelta(minutes=60)]
        got = [(c["datetime"], c["open"], c["high"], c["low"], c["close"], c["volume"]) for c in answer["candles"]]
        assert answer["symbol"] == "SPY" and got == [
            (int(b.start_utc.timestamp() * 1000), b.open, b.high, b.low, b.close, b.volume) for b in stored]
        five = opened.client.get_price_history_every_five_minutes(
            "SPY", start_datetime=start, end_datetime=start + timedelta(minutes=59)).json()["candles"]
        assert len(five) == 12 and five[0]["volume"] == sum(b.volume for b in stored[:5])
        daily = opened.client.get_price_history_every_day(
            "SPY", start_datetime=start - timedelta(days=1), end_datetime=start + timedelta(days=3)).json()["candles"]
        assert [datetime.fromtimestamp(c["datetime"] / 1000, UTC).date() for c in daily] == [date(2011, 1, 3)], \
            "the day in progress on the emulator's clock is not history yet"
    finally:
        opened.close()


def test_market_hours_name_the_sessions_and_a_holiday_is_closed(session: SchwabSession) -> None:
    equity = session.client.MarketHours.Market.EQUITY
    day = session.client.get_market_hours([equity], date=date(2011, 1, 4)).json()["equity"]["EQ"]
    assert day["isOpen"] and day["sessionHours"]["regularMarket"] == [
        {"start": "2011-01-04T09:30:00-05:00", "end": "2011-01-04T16:00:00-05:00"}]
    holiday = session.client.get_market_hours([equity], date=date(2011, 1, 17)).json()["equity"]
    assert holiday["equity"]["isOpen"] is False


# --- the streamer --------------------------------------------------------------------------------


def stream_bars(session: SchwabSession, symbols: list[str], count: int, timeout_secs: float = 20.0,
                access_token: str | None = None) -> list[dict[str, Any]]:
    """`count` CHART_EQUITY items through schwab-py's StreamClient (LOGIN, SUBS, handle_message)."""
    got: queue.Queue[dict[str, Any]] = queue.Queue()

    async def run() -> None:
        client = StreamClient(session.client)
        client.add_chart_equity_handler(lambda message: [got.put(item) for item in message["content"]])
        if access_token is not None:
            session.metadata.token = {**session.metadata.token, "access_token": access_token}
        await client.login()
        await client.chart_equity_subs(symbols)
        while got.qsize() < count:
            await asyncio.wait_for(client.handle_message(), timeout_secs)
        await client._socket.close()

    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _catching(lambda: asyncio.run(run()), errors), daemon=True)
    thread.start()
    thread.join(timeout_secs + 5)
    if errors:
        raise errors[0]
    return [got.get_nowait() for _ in range(got.qsize())]


def _catching(fn: Any, errors: list[BaseException]) -> None:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        errors.append(exc)


def test_the_streamer_sends_each_bar_at_its_end_with_the_stored_values(schwab_replay: SchwabEmulator) -> None:
    opened = schwab_replay.session()
    try:
        preferences = opened.client.get_user_preferences().json()
        assert preferences["streamerInfo"][0]["streamerSocketUrl"].endswith("/ws")
        items = stream_bars(opened, ["SPY"], 3)
        stored = {b.start_utc: b for b in sample_day_bars(SPY_JANUARY_2011, "SPY", date(2011, 1, 4))}
        for item in items:
            start = datetime.fromtimestamp(item["CHART_TIME_MILLIS"] / 1000, UTC)
            bar = stored[start]
            assert (item["key"], item["OPEN_PRICE"], item["HIGH_PRICE"], item["LOW_PRICE"], item["CLOSE_PRICE"],
                    item["VOLUME"]) == ("SPY", bar.open, bar.high, bar.low, bar.close, bar.volume)
            assert start + timedelta(minutes=1) <= schwab_replay.now(), "a bar is streamed once it has ended"
        assert [i["SEQUENCE"] for i in items] == sorted(i["SEQUENCE"] for i in items)
    finally:
        opened.close()


def test_a_login_with_a_token_the_emulator_never_issued_is_refused(schwab_replay: SchwabEmulator) -> None:
    opened = schwab_replay.session()
    try:
        with pytest.raises(UnexpectedResponseCode):
            stream_bars(opened, ["SPY"], 1, access_token="a.0.forged")
    finally:
        opened.close()


# --- OAuth ------------------------------------------------------------------------------------


def test_an_expired_access_token_is_refreshed_and_the_file_keeps_its_creation_time(
        schwab_injected: SchwabEmulator, tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    shutil.copy(schwab_injected.token_file, path)
    wrapped = json.loads(path.read_text())
    wrapped["token"]["expires_at"] = int(datetime.now(UTC).timestamp()) - 60  # wall clock: tokens age in real time
    path.write_text(json.dumps(wrapped))
    os.chmod(path, 0o600)
    opened = schwab_injected.session(path)
    try:
        assert opened.client.get_account_numbers().status_code == 200
    finally:
        opened.close()
    after = json.loads(path.read_text())
    assert after["creation_timestamp"] == wrapped["creation_timestamp"]
    assert after["token"]["access_token"] != wrapped["token"]["access_token"]
    assert after["token"]["refresh_token"] == wrapped["token"]["refresh_token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_expire_refresh_token_ends_every_token_and_the_refresh_fails_as_schwab_s(tmp_path: Path) -> None:
    with running_schwab_emulator(tmp_path / "data", tmp_path / "state", clock_start="2011-01-04T11:00:00-05:00",
                                 speed=1) as emulator:
        opened = emulator.session()
        try:
            assert opened.client.get_account_numbers().status_code == 200
            emulator.fault("expire_refresh_token")
            assert opened.client.get_account_numbers().status_code == 401
            with pytest.raises(OAuthError) as refused:
                opened.refresh()
            assert refused.value.error == "invalid_client"
        finally:
            opened.close()
        assert emulator.post("/_emulator/faults", {"kind": "expire_refresh_token", "when": "now"})[0] == 400
