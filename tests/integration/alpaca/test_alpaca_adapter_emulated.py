"""The Alpaca adapter against the emulator's faults: an order is never doubled, fills count
once, refused keys and dead hosts say what to check, reconnects are counted (the bar feed's:
tests/integration/test_venue_feeds_emulated.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mismarterad.core.clock import ReplayClock
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderRequest, OrderStatus, OrderType, Side
from mismarterad.integrations.alpaca import (
    AlpacaBroker,
    AlpacaCredentials,
    AlpacaEndpoints,
    BrokerAuthError,
    BrokerUnavailableError,
    RetryPolicy,
)
from support.alpaca_emulator import AlpacaEmulator, running_emulator
from support.emulator_process import wait_until

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=4, initial_backoff_secs=0.05, max_backoff_secs=0.2, jitter_secs=0.0,
                   max_total_secs=3.0)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[AlpacaEmulator]:
    with running_emulator(tmp_path / "data", tmp_path / "state", clock_start=T0.isoformat(), speed=1.0) as emu:
        yield emu


def _broker(emu: AlpacaEmulator, secret: str | None = None, **kwargs: object) -> AlpacaBroker:
    endpoints = AlpacaEndpoints.derive(emu.base_url, paper=True, feed="iex")
    return AlpacaBroker(AlpacaCredentials(emu.key_id, secret or emu.secret), endpoints, ReplayClock(T0, 1.0),
                        retry=FAST, fill_wait_secs=5.0, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def broker(emulator: AlpacaEmulator) -> Iterator[AlpacaBroker]:
    b = _broker(emulator, request_timeout_secs=0.5)
    b.verify()
    b.start()
    yield b
    b.close()


def _req(cid: str, qty: int = 10, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(cid, "SPY", side, qty, OrderType.MARKET, None, None, T0)


def _posts(emu: AlpacaEmulator, cid: str) -> int:
    return sum(1 for r in emu.requests() if r["method"] == "POST" and r["path"] == "/v2/orders"
               and r["client_order_id"] == cid)


def _bar(minute: int, price: float = 10.0) -> Bar:
    return Bar("SPY", "1m", T0 + timedelta(minutes=minute), price, price, price, price, 100)


def test_a_500_after_the_order_was_made_is_looked_up_not_resent(emulator: AlpacaEmulator,
                                                                 broker: AlpacaBroker) -> None:
    emulator.fault("http_500")
    order = broker.submit(_req("c1"))
    assert order.status is OrderStatus.NEW
    assert _posts(emulator, "c1") == 1 and len(emulator.state()["open_orders"]) == 1


def test_a_lost_response_is_looked_up_not_resent(emulator: AlpacaEmulator, broker: AlpacaBroker) -> None:
    emulator.fault("lost_response", hold_secs=5)
    order = broker.submit(_req("c2"))
    assert order.status is OrderStatus.NEW
    assert _posts(emulator, "c2") == 1 and len(emulator.state()["open_orders"]) == 1


def test_a_429_was_not_made_and_is_sent_again(emulator: AlpacaEmulator, broker: AlpacaBroker) -> None:
    emulator.fault("http_429")
    assert broker.submit(_req("c3")).status is OrderStatus.NEW
    assert _posts(emulator, "c3") == 2 and len(emulator.state()["open_orders"]) == 1


def test_duplicated_and_partial_fill_updates_count_each_execution_once(emulator: AlpacaEmulator,
                                                                       broker: AlpacaBroker) -> None:
    emulator.fault("partial_fill", fraction=0.4)
    emulator.fault("duplicate_updates", count=5)
    broker.submit(_req("c4"))
    emulator.inject_bars([_bar(1, 10.0)])
    broker.on_bar(_bar(1, 10.0))
    emulator.inject_bars([_bar(2, 11.0)])
    broker.on_bar(_bar(2, 11.0))
    time.sleep(0.3)  # any duplicate still on the wire
    fills = broker.drain_fills()
    assert sorted((f.quantity, f.price) for f in fills) == [(4, 10.0), (6, 11.0)]
    [order] = broker.orders()
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 10
    assert [(p.symbol, p.quantity) for p in broker.positions()] == [("SPY", 10)]


def test_updates_out_of_order_never_move_an_order_backwards(emulator: AlpacaEmulator, broker: AlpacaBroker) -> None:
    emulator.fault("out_of_order_updates")
    broker.submit(_req("c5"))
    emulator.inject_bars([_bar(1)])
    broker.on_bar(_bar(1))
    wait_until(lambda: bool(broker.orders()) and broker.orders()[0].status is OrderStatus.FILLED)
    time.sleep(0.3)
    assert broker.orders()[0].status is OrderStatus.FILLED and len(broker.drain_fills()) == 1


def test_a_duplicate_client_order_id_at_alpaca_is_a_value_error(emulator: AlpacaEmulator,
                                                                broker: AlpacaBroker) -> None:
    broker.submit(_req("c6"))
    other = _broker(emulator)
    try:
        with pytest.raises(ValueError, match="duplicate client_order_id c6"):
            other.submit(_req("c6"))
        assert other.orders() == []
    finally:
        other.close()


def test_refused_keys_name_the_variables_never_the_secret(emulator: AlpacaEmulator) -> None:
    wrong = _broker(emulator, secret="wrong-secret-value")
    with pytest.raises(BrokerAuthError, match="APCA_API_KEY_ID") as info:
        wrong.verify()
    assert "wrong-secret-value" not in str(info.value)
    started = time.monotonic()
    with pytest.raises(BrokerAuthError, match="APCA_API_SECRET_KEY"):
        wrong.start()
    assert time.monotonic() - started < 6 and not wrong.connected
    wrong.close()


def test_a_dead_host_is_unavailable_naming_it() -> None:
    endpoints = AlpacaEndpoints.derive("http://127.0.0.1:9", paper=True, feed="iex")
    dead = AlpacaBroker(AlpacaCredentials("k", "s"), endpoints, ReplayClock(T0, 1.0), retry=FAST)
    with pytest.raises(BrokerUnavailableError, match="127.0.0.1:9"):
        dead.verify()
    assert not dead.connected
    dead.close()


def test_a_dropped_trade_stream_reconnects_and_is_counted(emulator: AlpacaEmulator, broker: AlpacaBroker) -> None:
    assert broker.connected and broker.reconnects == 0
    emulator.fault("drop_stream", stream="trading")
    wait_until(lambda: broker.reconnects == 1 and broker.connected, timeout=15)
    broker.submit(_req("c7"))
    emulator.inject_bars([_bar(1)])
    broker.on_bar(_bar(1))
    assert len(broker.drain_fills()) == 1  # updates flow again


def test_a_fill_made_while_the_trade_stream_was_down_is_booked_after_the_reconnect(
        emulator: AlpacaEmulator, broker: AlpacaBroker) -> None:
    broker.submit(_req("c8"))
    emulator.fault("drop_stream", stream="trading")
    emulator.inject_bars([_bar(1, 12.0)])  # filled while nobody listens: Alpaca never replays it
    wait_until(lambda: broker.reconnects == 1 and broker.connected, timeout=15)
    fills = broker.drain_fills()
    assert [(f.client_order_id, f.quantity, f.price) for f in fills] == [("c8", 10, 12.0)]
    assert broker.open_orders() == [] and broker.drain_fills() == []
