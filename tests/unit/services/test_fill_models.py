"""Fill rules, slippage and commission of the simulated broker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderRequest, OrderType, Side
from mismarterad.services.fill_models import CommissionModel, fill_price, slipped

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)


def bar(o: float, h: float, lo: float, c: float) -> Bar:
    return Bar("SPY", "1m", T0, o, h, lo, c, 100)


def order(side: Side, type_: OrderType, limit: float | None = None, stop: float | None = None) -> OrderRequest:
    return OrderRequest("o000001", "SPY", side, 10, type_, limit, stop, T0)


@pytest.mark.parametrize(("request_", "b", "expected"), [
    (order(Side.BUY, OrderType.MARKET), bar(10, 11, 9, 10.5), 10),
    (order(Side.SELL, OrderType.MARKET), bar(10, 11, 9, 10.5), 10),
    # limit buy: touched inside the bar fills at the limit, a gap down fills at the better open
    (order(Side.BUY, OrderType.LIMIT, limit=9.5), bar(10, 11, 9, 10.5), 9.5),
    (order(Side.BUY, OrderType.LIMIT, limit=9.5), bar(9.2, 9.8, 9, 9.4), 9.2),
    (order(Side.BUY, OrderType.LIMIT, limit=8.99), bar(10, 11, 9, 10.5), None),
    (order(Side.BUY, OrderType.LIMIT, limit=9), bar(10, 11, 9, 10.5), 9),  # touching is enough
    (order(Side.SELL, OrderType.LIMIT, limit=10.8), bar(10, 11, 9, 10.5), 10.8),
    (order(Side.SELL, OrderType.LIMIT, limit=10.8), bar(11.2, 11.5, 11, 11.1), 11.2),
    (order(Side.SELL, OrderType.LIMIT, limit=11.01), bar(10, 11, 9, 10.5), None),
    # stops: triggered inside the bar fill at the stop, a gap through fills at the worse open
    (order(Side.BUY, OrderType.STOP, stop=10.8), bar(10, 11, 9, 10.5), 10.8),
    (order(Side.BUY, OrderType.STOP, stop=10.8), bar(11.2, 11.5, 11, 11.1), 11.2),
    (order(Side.BUY, OrderType.STOP, stop=11.5), bar(10, 11, 9, 10.5), None),
    (order(Side.SELL, OrderType.STOP, stop=9.5), bar(10, 11, 9, 10.5), 9.5),
    (order(Side.SELL, OrderType.STOP, stop=9.5), bar(9.2, 9.8, 9, 9.4), 9.2),
    (order(Side.SELL, OrderType.STOP, stop=8.5), bar(10, 11, 9, 10.5), None),
    (order(Side.SELL, OrderType.MARKET_ON_CLOSE), bar(10, 11, 9, 10.5), None),
])
def test_fill_price(request_: OrderRequest, b: Bar, expected: float | None) -> None:
    assert fill_price(request_, b) == expected


def test_slippage_moves_against_the_trader_but_never_past_a_limit() -> None:
    assert slipped(100.0, order(Side.BUY, OrderType.MARKET), 10) == 100.1
    assert slipped(100.0, order(Side.SELL, OrderType.MARKET), 10) == 99.9
    assert slipped(100.0, order(Side.SELL, OrderType.STOP, stop=100), 10) == 99.9
    assert slipped(100.0, order(Side.BUY, OrderType.LIMIT, limit=100), 10) == 100.0
    assert slipped(100.0, order(Side.BUY, OrderType.MARKET), 0) == 100.0


def test_commission() -> None:
    assert CommissionModel().commission(100) == 0.0
    assert CommissionModel(per_share=0.005).commission(100) == 0.5
    assert CommissionModel(per_share=0.005, minimum=1.0).commission(100) == 1.0
    assert CommissionModel(per_order=1.0, per_share=0.01).commission(300) == 4.0
