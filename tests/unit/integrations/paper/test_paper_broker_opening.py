"""A paper broker opened with a kept account's balance, and the journal's arithmetic that ends a
day without one (core/paper_account.py): the same cash and positions as the broker, to the bit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Fill, OrderRequest, OrderType, Position, Side
from mismarterad.core.paper_account import PaperBalance, position_after
from mismarterad.integrations.paper import PaperBroker
from mismarterad.services.fill_models import CommissionModel

T0 = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)


def bar(symbol: str, minute: int, price: float) -> Bar:
    return Bar(symbol, "1m", T0 + timedelta(minutes=minute), price, price, price, price, 100)


def market(n: int, symbol: str, side: Side, quantity: int, minute: int) -> OrderRequest:
    return OrderRequest(f"o{n}", symbol, side, quantity, OrderType.MARKET, None, None,
                        T0 + timedelta(minutes=minute), "s")


def balance_of(broker: PaperBroker) -> PaperBalance:
    return PaperBalance.of(broker.account().cash, broker.positions())


def test_an_opened_account_holds_its_positions_at_cost_until_a_bar_prices_them() -> None:
    broker = PaperBroker(initial_cash=1_000.0, positions=[Position("SPY", 10, 120.0), Position("QQQ", 0, 0.0)])
    assert broker.positions() == [Position("SPY", 10, 120.0)]
    account = broker.account()
    assert (account.cash, account.positions_value, account.equity) == (1_000.0, 1_200.0, 2_200.0)
    broker.on_bar(bar("SPY", 0, 125.0))
    assert broker.account().equity == 1_000.0 + 10 * 125.0
    sold = broker.submit(market(1, "SPY", Side.SELL, 10, 1))  # carried shares can be sold (long only)
    assert sold.reject_category is None
    broker.on_bar(bar("SPY", 1, 126.0))
    assert balance_of(broker) == PaperBalance(1_000.0 + 1_260.0)


def test_position_after_averages_additions_keeps_cost_on_reductions_and_reprices_flips() -> None:
    held = Position("SPY", 10, 100.0)
    assert position_after(held, 10, 110.0) == Position("SPY", 20, 105.0)
    assert position_after(held, -4, 130.0) == Position("SPY", 6, 100.0)
    assert position_after(held, -10, 130.0) == Position("SPY", 0, 0.0)
    assert position_after(held, -15, 90.0) == Position("SPY", -5, 90.0)
    assert position_after(Position("SPY", -5, 90.0), -5, 80.0) == Position("SPY", -10, 85.0)


orders = st.lists(st.tuples(st.sampled_from(["SPY", "QQQ"]), st.sampled_from([Side.BUY, Side.SELL]),
                            st.integers(1, 40), st.floats(1.0, 500.0, allow_nan=False).map(lambda p: round(p, 4))),
                  max_size=30)


@settings(max_examples=60, deadline=None)
@given(orders=orders, spy=st.integers(-20, 20), cash=st.floats(0.0, 1e6).map(lambda c: round(c, 2)))
def test_the_journals_fills_rebuild_exactly_the_brokers_balance(
        orders: list[tuple[str, Side, int, float]], spy: int, cash: float) -> None:
    opening = PaperBalance.of(cash, [Position("SPY", spy, 101.37)])
    broker = PaperBroker(initial_cash=opening.cash, commission=CommissionModel(0.005, 0.35, 1.0), slippage_bps=3.0,
                         short_selling=True, positions=opening.positions)
    fills: list[Fill] = []
    for n, (symbol, side, quantity, price) in enumerate(orders):
        broker.submit(market(n, symbol, side, quantity, n))
        broker.on_bar(bar(symbol, n, price))
        fills += broker.drain_fills()
    rebuilt = opening
    for fill in fills:
        rebuilt = rebuilt.after(fill)
    assert rebuilt == balance_of(broker)
