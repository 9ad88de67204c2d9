"""The emulator speaks Alpaca: driven by the real alpaca-py 0.44 clients over its port.

REST (account, clock, calendar, orders, positions), the trading stream (new, fill, cancel
updates with execution ids) and the data stream (msgpack bars with the store's values), on a
replayed real day and on injected bars.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, time as clock_time, timedelta
from zoneinfo import ZoneInfo

import msgpack
import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.live import StockDataStream
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopOrderRequest,
)
from websockets.sync.client import connect

from mismarterad.core.market_data import Bar
from support.alpaca_emulator import (
    SPY_JANUARY_2011,
    AlpacaEmulator,
    Collector,
    events_of,
    run_stream,
    running_emulator,
    sample_day_bars,
    stop_stream,
    trading_client,
    wait_connected,
)

NY = ZoneInfo("America/New_York")


def spy_bar(minute: int, open_: float, high: float, low: float, close: float, symbol: str = "SPY") -> Bar:
    """A bar of the injected emulator's day: `minute` minutes after 11:00 New York."""
    start = datetime(2011, 1, 4, 16, 0, tzinfo=UTC) + timedelta(minutes=minute)
    return Bar(symbol, "1m", start, open_, high, low, close, 1000)


def market(cid: str, qty: int = 10, side: OrderSide = OrderSide.BUY, tif: TimeInForce = TimeInForce.DAY,
           symbol: str = "SPY") -> MarketOrderRequest:
    return MarketOrderRequest(symbol=symbol, qty=qty, side=side, time_in_force=tif, client_order_id=cid)


# --- REST: account, clock, calendar ----------------------------------------------------------


def test_account_starts_like_an_alpaca_paper_account(injected: AlpacaEmulator) -> None:
    account = trading_client(injected).get_account()
    assert account.status == "ACTIVE" and account.currency == "USD"
    assert float(account.equity) == float(account.portfolio_value) > 0
    assert account.pattern_day_trader is False


def test_wrong_keys_get_401_with_alpaca_error_body(injected: AlpacaEmulator) -> None:
    with pytest.raises(APIError) as caught:
        trading_client(injected, secret="wrong").get_account()
    assert caught.value.status_code == 401
    assert caught.value.code == 40110000


def test_clock_follows_the_replay_clock(replay: AlpacaEmulator) -> None:
    clock = trading_client(replay).get_clock()
    assert clock.timestamp.astimezone(NY).date() == date(2011, 1, 4)
    assert clock.is_open is (clock.timestamp.astimezone(NY).time() >= clock_time(9, 30))
    assert clock.next_close == datetime(2011, 1, 4, 16, 0, tzinfo=NY)
    next_day = 5 if clock.is_open else 4
    assert clock.next_open == datetime(2011, 1, next_day, 9, 30, tzinfo=NY)


def test_calendar_lists_sessions_with_early_closes_and_no_holidays(injected: AlpacaEmulator) -> None:
    days = trading_client(injected).get_calendar(GetCalendarRequest(start=date(2010, 11, 24), end=date(2010, 11, 29)))
    by_day = {d.date: d for d in days}
    assert sorted(by_day) == [date(2010, 11, 24), date(2010, 11, 26), date(2010, 11, 29)]  # Thanksgiving closed
    assert by_day[date(2010, 11, 26)].close == datetime(2010, 11, 26, 13, 0)  # naive New York, as the SDK makes it
    assert by_day[date(2010, 11, 29)].open == datetime(2010, 11, 29, 9, 30)


# --- orders ----------------------------------------------------------------------------------


def test_market_order_fills_at_the_next_bar_open_with_new_and_fill_updates(
        injected: AlpacaEmulator, trade_updates: Collector) -> None:
    client = trading_client(injected)
    order = client.submit_order(market("mkt-1", qty=10))
    assert order.status == OrderStatus.NEW and order.qty == "10" and order.client_order_id == "mkt-1"
    injected.inject_bars([spy_bar(1, 127.5, 127.9, 127.4, 127.8)])
    fill = trade_updates.wait_for(lambda u: u.order.client_order_id == "mkt-1" and u.event == "fill")
    assert fill.price == 127.5 and fill.qty == 10 and fill.execution_id is not None
    assert fill.timestamp == spy_bar(1, 1, 1, 1, 1).start_utc  # an open fill is stamped with the bar start
    assert events_of(trade_updates, "mkt-1") == ["new", "fill"]
    filled = client.get_order_by_client_id("mkt-1")
    assert filled.status == OrderStatus.FILLED and float(filled.filled_avg_price) == 127.5
    positions = {p.symbol: p for p in client.get_all_positions()}
    assert positions["SPY"].side == "long" and float(positions["SPY"].current_price) == 127.8


def test_limit_and_stop_orders_follow_the_paper_fill_rules(injected: AlpacaEmulator,
                                                           trade_updates: Collector) -> None:
    client = trading_client(injected)
    client.submit_order(LimitOrderRequest(symbol="SPY", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                          limit_price=120.0, client_order_id="lmt-1"))
    client.submit_order(StopOrderRequest(symbol="SPY", qty=5, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
                                         stop_price=126.0, client_order_id="stp-1"))
    injected.inject_bars([spy_bar(2, 127.0, 127.2, 125.5, 126.8)])  # through the stop, above the limit
    stop_fill = trade_updates.wait_for(lambda u: u.order.client_order_id == "stp-1" and u.event == "fill")
    assert stop_fill.price == 126.0
    assert client.get_order_by_client_id("lmt-1").status == OrderStatus.NEW
    injected.inject_bars([spy_bar(3, 119.0, 121.0, 118.0, 120.5)])  # gapped below the limit: the better open
    limit_fill = trade_updates.wait_for(lambda u: u.order.client_order_id == "lmt-1" and u.event == "fill")
    assert limit_fill.price == 119.0


def test_duplicate_client_order_id_is_rejected_with_422(injected: AlpacaEmulator) -> None:
    client = trading_client(injected)
    client.submit_order(market("dup-1", qty=1))
    with pytest.raises(APIError) as caught:
        client.submit_order(market("dup-1", qty=1))
    assert caught.value.status_code == 422 and caught.value.code == 40010001
    assert "unique" in caught.value.message


def test_bad_orders_get_422_naming_the_field_and_big_buys_403(injected: AlpacaEmulator) -> None:
    client = trading_client(injected)
    for body, field in (({"qty": 1.5}, "qty"), ({"qty": 0}, "qty"), ({"type": "limit"}, "limit_price"),
                        ({"type": "stop"}, "stop_price"), ({"side": "sideways"}, "side")):
        request = {"symbol": "SPY", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day", **body}
        with pytest.raises(APIError) as caught:
            client.post("/orders", request)
        assert caught.value.status_code == 422 and field in caught.value.message, (body, caught.value.message)
    with pytest.raises(APIError) as caught:
        client.submit_order(LimitOrderRequest(symbol="SPY", qty=10_000, side=OrderSide.BUY, limit_price=127.0,
                                              time_in_force=TimeInForce.DAY, client_order_id="too-big"))
    assert caught.value.status_code == 403 and caught.value.code == 40310000


def test_orders_list_cancel_by_id_and_cancel_all(injected: AlpacaEmulator, trade_updates: Collector) -> None:
    client = trading_client(injected)
    first = client.submit_order(LimitOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, limit_price=50.0,
                                                  time_in_force=TimeInForce.GTC, client_order_id="cxl-1"))
    client.submit_order(LimitOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, limit_price=51.0,
                                          time_in_force=TimeInForce.DAY, client_order_id="cxl-2"))
    open_ids = {o.client_order_id for o in client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))}
    assert {"cxl-1", "cxl-2"} <= open_ids
    assert client.cancel_order_by_id(first.id) is None
    trade_updates.wait_for(lambda u: u.order.client_order_id == "cxl-1" and u.event == "canceled")
    with pytest.raises(APIError) as caught:
        client.cancel_order_by_id(first.id)
    assert caught.value.status_code == 422
    responses = client.cancel_orders()
    assert all(r.status == 200 for r in responses)
    assert client.get_order_by_client_id("cxl-2").status == OrderStatus.CANCELED
    assert client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=["SPY"])) == []
    closed = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED, limit=500))
    assert {"cxl-1", "cxl-2"} <= {o.client_order_id for o in closed}
    with pytest.raises(APIError) as caught:
        client.get_order_by_client_id("never-sent")
    assert caught.value.status_code == 404


def test_market_on_close_fills_at_the_close_and_day_orders_expire(tmp_path, ) -> None:
    with running_emulator(tmp_path / "data", tmp_path / "state", clock_start="2011-01-04T20:40:00+00:00",
                          speed=1) as emulator:
        client = trading_client(emulator)
        client.submit_order(market("moc-1", qty=3, tif=TimeInForce.CLS))
        client.submit_order(LimitOrderRequest(symbol="SPY", qty=3, side=OrderSide.BUY, limit_price=10.0,
                                              time_in_force=TimeInForce.DAY, client_order_id="day-1"))
        emulator.close_session([Bar("SPY", "1m", datetime(2011, 1, 4, 20, 59, tzinfo=UTC), 127, 127.5, 126.9,
                                    127.25, 100)])
        moc = client.get_order_by_client_id("moc-1")
        assert moc.status == OrderStatus.FILLED and float(moc.filled_avg_price) == 127.25
        assert moc.filled_at == datetime(2011, 1, 4, 21, 0, tzinfo=UTC)  # a close fill: the session end
        assert client.get_order_by_client_id("day-1").status == OrderStatus.EXPIRED


def test_market_on_close_after_1550_is_rejected(tmp_path) -> None:
    with running_emulator(tmp_path / "data", tmp_path / "state", clock_start="2011-01-04T20:52:00+00:00",
                          speed=1) as emulator:
        with pytest.raises(APIError) as caught:
            trading_client(emulator).submit_order(market("moc-late", tif=TimeInForce.CLS))
        assert caught.value.status_code == 422 and "15:50" in caught.value.message


def test_day_order_after_the_close_is_accepted_then_routed_next_session_and_persisted(tmp_path) -> None:
    kwargs = {"clock_start": "2011-01-04T21:05:00+00:00", "speed": 1}
    with running_emulator(tmp_path / "data", tmp_path / "state", **kwargs) as emulator:
        order = trading_client(emulator).submit_order(market("night-1", qty=2))
        assert order.status == OrderStatus.ACCEPTED
    # restarted on the next morning: the account came back from the state dir, the order is routed at the open
    with running_emulator(tmp_path / "data", tmp_path / "state", clock_start="2011-01-05T14:29:58+00:00",
                          speed=1) as emulator:
        client = trading_client(emulator)
        assert client.get_order_by_client_id("night-1").status == OrderStatus.ACCEPTED
        deadline = time.monotonic() + 10
        while client.get_order_by_client_id("night-1").status != OrderStatus.NEW:
            assert time.monotonic() < deadline, "the queued order was not routed at the open"
            time.sleep(0.2)
        emulator.inject_bars([Bar("SPY", "1m", datetime(2011, 1, 5, 14, 30, tzinfo=UTC), 127, 127, 127, 127, 1)])
        assert client.get_order_by_client_id("night-1").status == OrderStatus.FILLED
        assert float(client.get_account().cash) == pytest.approx(100_000 - 2 * 127)


def test_injected_open_routes_queued_orders(tmp_path) -> None:
    with running_emulator(tmp_path / "data", tmp_path / "state", clock_start="2011-01-04T22:00:00+00:00",
                          speed=1) as emulator:
        client = trading_client(emulator)
        client.submit_order(market("queued-1", qty=1, tif=TimeInForce.GTC))
        emulator.open_session()
        assert client.get_order_by_client_id("queued-1").status == OrderStatus.NEW
        assert [o["client_order_id"] for o in emulator.state()["open_orders"]] == ["queued-1"]


# --- streams on the replayed day --------------------------------------------------------------


def test_data_stream_sends_each_bar_at_its_end_with_the_stored_values(replay: AlpacaEmulator) -> None:
    stored = {b.start_utc: b for b in sample_day_bars(SPY_JANUARY_2011, "SPY", date(2011, 1, 4))}
    bars = Collector()
    stream = StockDataStream(replay.key_id, replay.secret, url_override=replay.data_stream_url)
    stream.subscribe_bars(bars.handler, "SPY")
    thread = run_stream(stream)
    try:
        first = bars.wait_for(lambda b: True)
        second = bars.wait_for(lambda b: b.timestamp > first.timestamp)
    finally:
        stop_stream(stream, thread)
    assert second.timestamp - first.timestamp == timedelta(minutes=1)
    for bar in (first, second):
        expected = stored[bar.timestamp]
        assert (bar.symbol, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
            "SPY", expected.open, expected.high, expected.low, expected.close, expected.volume)
    clock = trading_client(replay).get_clock().timestamp
    assert second.timestamp + timedelta(minutes=1) <= clock  # streamed at its end, not before


def test_sdk_data_stream_reconnects_and_resubscribes_after_a_drop(replay: AlpacaEmulator) -> None:
    bars = Collector()
    stream = StockDataStream(replay.key_id, replay.secret, url_override=replay.data_stream_url)
    stream.subscribe_bars(bars.handler, "SPY")
    thread = run_stream(stream)
    try:
        bars.wait_for(lambda b: True)
        connections = sum(r["path"] == "/v2/iex" for r in replay.requests())
        replay.fault("drop_stream", stream="data")
        wait_connected(replay, "/v2/iex", count=connections + 1, timeout_secs=40)
        bars.drain(0.1)
        resumed = len(bars.seen)
        later = bars.wait_for(lambda b: bars.seen.index(b) >= resumed)  # a bar after the reconnect
    finally:
        stop_stream(stream, thread)
    assert later.symbol == "SPY"


def test_replayed_market_order_fills_through_the_trading_stream(replay: AlpacaEmulator) -> None:
    from alpaca.trading.stream import TradingStream

    updates = Collector()
    stream = TradingStream(replay.key_id, replay.secret, url_override=replay.trading_stream_url)
    stream.subscribe_trade_updates(updates.handler)
    thread = run_stream(stream)
    try:
        wait_connected(replay, "/stream")
        trading_client(replay).submit_order(market("replay-1", qty=4))
        updates.wait_for(lambda u: u.event == "new")
        fill = updates.wait_for(lambda u: u.event == "fill", timeout_secs=15)
    finally:
        stop_stream(stream, thread, replay)
    stored = {b.start_utc: b for b in sample_day_bars(SPY_JANUARY_2011, "SPY", date(2011, 1, 4))}
    assert fill.price == stored[fill.timestamp].open and fill.qty == 4 and fill.position_qty == 4
    assert fill.execution_id is not None


def test_data_stream_protocol_frames_and_wrong_keys(replay: AlpacaEmulator) -> None:
    with connect(replay.data_stream_url) as ws:
        assert msgpack.unpackb(ws.recv()) == [{"T": "success", "msg": "connected"}]
        ws.send(msgpack.packb({"action": "subscribe", "bars": ["SPY"]}))
        assert msgpack.unpackb(ws.recv())[0]["code"] == 401  # not authenticated yet
        ws.send(msgpack.packb({"action": "auth", "key": replay.key_id, "secret": replay.secret}))
        assert msgpack.unpackb(ws.recv()) == [{"T": "success", "msg": "authenticated"}]
        ws.send(msgpack.packb({"action": "subscribe", "bars": ["SPY"]}))
        ack = msgpack.unpackb(ws.recv())[0]
        assert ack["T"] == "subscription" and ack["bars"] == ["SPY"] and ack["trades"] == []
        frame = msgpack.unpackb(ws.recv(timeout=5), timestamp=3)
        assert frame[0]["T"] == "b" and frame[0]["S"] == "SPY" and frame[0]["t"].tzinfo is not None
        ws.send(msgpack.packb({"action": "unsubscribe", "bars": ["SPY"]}))
        assert msgpack.unpackb(ws.recv())[0]["bars"] == []
    with connect(replay.data_stream_url) as ws:
        ws.recv()
        ws.send(msgpack.packb({"action": "auth", "key": replay.key_id, "secret": "wrong"}))
        assert msgpack.unpackb(ws.recv()) == [{"T": "error", "code": 402, "msg": "auth failed"}]
        with pytest.raises(Exception, match="1000|close"):
            ws.recv(timeout=5)


def test_sdk_data_stream_with_wrong_keys_retries_and_can_be_stopped(replay: AlpacaEmulator) -> None:
    before = sum(r["path"] == "/v2/iex" for r in replay.requests())
    bars = Collector()
    stream = StockDataStream(replay.key_id, "wrong", url_override=replay.data_stream_url)
    stream.subscribe_bars(bars.handler, "SPY")
    thread = run_stream(stream)
    wait_connected(replay, "/v2/iex", count=before + 1)
    stop_stream(stream, thread)
    assert bars.drain(0.1) == []


def test_trading_stream_protocol_frames_and_wrong_keys(replay: AlpacaEmulator) -> None:
    with connect(replay.trading_stream_url) as ws:
        ws.send(json.dumps({"action": "authenticate", "data": {"key_id": replay.key_id,
                                                               "secret_key": replay.secret}}))
        reply = ws.recv()
        assert isinstance(reply, bytes)  # binary frames, like the real server
        assert json.loads(reply) == {"stream": "authorization",
                                     "data": {"action": "authenticate", "status": "authorized"}}
        ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert json.loads(ws.recv()) == {"stream": "listening", "data": {"streams": ["trade_updates"]}}
    with connect(replay.trading_stream_url) as ws:
        ws.send(json.dumps({"action": "authenticate", "data": {"key_id": "x", "secret_key": "y"}}))
        assert json.loads(ws.recv())["data"]["status"] == "unauthorized"
