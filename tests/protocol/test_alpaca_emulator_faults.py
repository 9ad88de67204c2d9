"""Every injected fault, seen through the real alpaca-py clients (`POST /_emulator/faults`)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import MarketOrderRequest
from websockets.sync.client import connect

from mismarterad.core.market_data import Bar
from support.alpaca_emulator import AlpacaEmulator, Collector, events_of, trading_client, wait_connected

_minutes = iter(range(1, 10_000))  # each injected minute of this module is a new one


def next_bar(price: float = 100.0, symbol: str = "SPY") -> Bar:
    start = datetime(2011, 1, 4, 16, 0, tzinfo=UTC) + timedelta(minutes=next(_minutes))
    return Bar(symbol, "1m", start, price, price + 0.5, price - 0.5, price + 0.25, 500)


def market(cid: str, qty: int = 10) -> MarketOrderRequest:
    return MarketOrderRequest(symbol="SPY", qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                              client_order_id=cid)


def test_a_bad_fault_is_refused_naming_the_field(injected: AlpacaEmulator) -> None:
    assert injected.post("/_emulator/faults", {"kind": "http_500", "count": 0})[0] == 400
    status, body = injected.post("/_emulator/faults", {"kind": "partial_fill", "fraction": 1.5})
    assert status == 400 and "fraction" in body["error"]
    status, body = injected.post("/_emulator/faults", {"kind": "meteor"})
    assert status == 400 and "kind" in body["error"]


def test_http_500_on_post_orders_comes_after_the_order_was_created(injected: AlpacaEmulator,
                                                                   trade_updates: Collector) -> None:
    client = trading_client(injected)
    injected.fault("http_500", count=1)
    with pytest.raises(APIError) as caught:
        client.submit_order(market("f500-1"))
    assert caught.value.status_code == 500
    assert client.get_order_by_client_id("f500-1").status == OrderStatus.NEW  # the nasty case: it exists


def test_http_429_is_retried_by_the_sdk(injected: AlpacaEmulator) -> None:
    injected.fault("http_429", count=1)
    started = time.monotonic()
    assert trading_client(injected).get_account().status == "ACTIVE"  # alpaca-py sleeps 3 s and retries
    assert time.monotonic() - started >= 3


def test_lost_response_creates_the_order_but_never_answers(injected: AlpacaEmulator) -> None:
    injected.fault("lost_response", hold_secs=5)
    body = {"symbol": "SPY", "qty": 1.0, "side": "buy", "type": "market", "time_in_force": "day",
            "client_order_id": "lost-1"}
    with pytest.raises(requests.exceptions.Timeout):
        requests.post(injected.base_url + "/v2/orders", json=body, timeout=0.5,
                      headers={"APCA-API-KEY-ID": injected.key_id, "APCA-API-SECRET-KEY": injected.secret})
    assert trading_client(injected).get_order_by_client_id("lost-1").status == OrderStatus.NEW
    posts = [r for r in injected.requests() if r["client_order_id"] == "lost-1"]
    assert [(r["method"], r["path"]) for r in posts] == [("POST", "/v2/orders"),
                                                         ("GET", "/v2/orders:by_client_order_id")]


def test_lost_response_closes_the_connection_of_a_client_without_timeout(injected: AlpacaEmulator) -> None:
    injected.fault("lost_response", hold_secs=0.5)
    with pytest.raises(requests.exceptions.ConnectionError):
        trading_client(injected).submit_order(market("lost-2", qty=1))
    assert trading_client(injected).get_order_by_client_id("lost-2").qty == "1"


def test_delay_holds_the_response(injected: AlpacaEmulator) -> None:
    injected.fault("delay", ms=400)
    started = time.monotonic()
    trading_client(injected).get_clock()
    assert time.monotonic() - started >= 0.4


def test_reject_next_order_returns_new_then_a_rejected_update(injected: AlpacaEmulator,
                                                              trade_updates: Collector) -> None:
    injected.fault("reject_next_order")
    order = trading_client(injected).submit_order(market("rej-1"))
    assert order.status == OrderStatus.NEW
    trade_updates.wait_for(lambda u: u.order.client_order_id == "rej-1" and u.event == "rejected")
    assert trading_client(injected).get_order_by_client_id("rej-1").status == OrderStatus.REJECTED
    assert events_of(trade_updates, "rej-1") == ["new", "rejected"]


def test_partial_fill_then_the_rest_on_the_next_bar(injected: AlpacaEmulator, trade_updates: Collector) -> None:
    client = trading_client(injected)
    injected.fault("partial_fill", fraction=0.3)
    client.submit_order(market("part-1", qty=10))
    injected.inject_bars([next_bar(100.0)])
    partial = trade_updates.wait_for(lambda u: u.order.client_order_id == "part-1" and u.event == "partial_fill")
    assert partial.qty == 3 and partial.price == 100.0
    assert client.get_order_by_client_id("part-1").status == OrderStatus.PARTIALLY_FILLED
    injected.inject_bars([next_bar(102.0)])
    fill = trade_updates.wait_for(lambda u: u.order.client_order_id == "part-1" and u.event == "fill")
    assert fill.qty == 7 and fill.execution_id != partial.execution_id
    done = client.get_order_by_client_id("part-1")
    assert done.filled_qty == "10" and float(done.filled_avg_price) == pytest.approx((3 * 100 + 7 * 102) / 10)


def test_duplicate_updates_repeat_the_same_execution(injected: AlpacaEmulator, trade_updates: Collector) -> None:
    injected.fault("duplicate_updates", count=2)
    trading_client(injected).submit_order(market("dupu-1", qty=1))
    injected.inject_bars([next_bar()])
    trade_updates.wait_for(lambda u: u.order.client_order_id == "dupu-1" and u.event == "fill")
    seen = [u for u in trade_updates.drain() if u.order.client_order_id == "dupu-1"]
    assert [u.event for u in seen] == ["new", "new", "fill", "fill"]
    assert seen[2].execution_id == seen[3].execution_id


def test_out_of_order_updates_send_the_fill_before_new(injected: AlpacaEmulator, trade_updates: Collector) -> None:
    injected.fault("out_of_order_updates")
    trading_client(injected).submit_order(market("ooo-1", qty=1))
    injected.inject_bars([next_bar()])
    trade_updates.wait_for(lambda u: u.order.client_order_id == "ooo-1" and u.event == "new")
    assert events_of(trade_updates, "ooo-1") == ["fill", "new"]


def test_skip_bars_and_stall_stream_silence_the_data_stream_only(injected: AlpacaEmulator) -> None:
    import msgpack

    with connect(injected.data_stream_url) as ws:
        ws.recv()
        ws.send(msgpack.packb({"action": "auth", "key": injected.key_id, "secret": injected.secret}))
        ws.recv()
        ws.send(msgpack.packb({"action": "subscribe", "bars": ["*"]}))
        ws.recv()
        injected.fault("skip_bars", count=1)
        injected.fault("stall_stream", minutes=1)
        silenced = [next_bar(), next_bar()]
        streamed = next_bar()
        for bar in [*silenced, streamed]:
            injected.inject_bars([bar])
        frame = msgpack.unpackb(ws.recv(timeout=5), timestamp=3)
        assert [(b["S"], b["t"]) for b in frame] == [("SPY", streamed.start_utc)]


def test_drop_stream_closes_the_trading_socket_and_the_sdk_reconnects(injected: AlpacaEmulator,
                                                                      trade_updates: Collector) -> None:
    connections = sum(r["path"] == "/stream" for r in injected.requests())
    injected.fault("drop_stream", stream="trading")
    wait_connected(injected, "/stream", count=connections + 1, timeout_secs=40)
    trading_client(injected).submit_order(market("after-drop", qty=1))
    trade_updates.wait_for(lambda u: u.order.client_order_id == "after-drop" and u.event == "new")


def test_request_log_names_every_request_with_its_client_order_id(injected: AlpacaEmulator) -> None:
    client = trading_client(injected)
    client.submit_order(market("log-1", qty=1))
    client.get_order_by_client_id("log-1")
    entries = injected.requests()
    mine = [(e["method"], e["path"]) for e in entries if e["client_order_id"] == "log-1"]
    assert mine == [("POST", "/v2/orders"), ("GET", "/v2/orders:by_client_order_id")]
    assert all(datetime.fromisoformat(e["time"]).year == 2011 for e in entries)  # the emulator's clock
    assert {"method", "path", "client_order_id", "time"} == set(entries[-1])


def test_state_shows_cash_positions_and_open_orders_without_keys(injected: AlpacaEmulator) -> None:
    with urllib.request.urlopen(injected.base_url + "/_emulator/state", timeout=5) as resp:
        state = json.loads(resp.read())
    assert {"cash", "equity", "positions", "open_orders", "now"} <= set(state)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(injected.base_url + "/v2/account", timeout=5)
    assert caught.value.code == 401


