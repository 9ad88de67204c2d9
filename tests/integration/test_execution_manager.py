"""ExecutionManager with the paper broker: the end-of-day flatten always gets through."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mismarterad.core.broker import BrokerCapabilities
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderRequest, OrderStatus, OrderType, Side
from mismarterad.core.risk import RiskCheck
from mismarterad.integrations.paper import PaperBroker
from mismarterad.managers.execution_manager import ACCOUNT_OWNER, ExecutionManager

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)


def bar(minute: int, price: float, symbol: str = "SPY") -> Bar:
    return Bar(symbol, "1m", T0 + timedelta(minutes=minute), price, price + 0.5, price - 0.5, price, 1000)


def holding_with_a_resting_stop() -> ExecutionManager:
    execution = ExecutionManager(PaperBroker(initial_cash=100_000.0))
    execution.on_bar(bar(0, 100))
    execution.submit("s#0", "SPY", Side.BUY, 100, None, None, T0 + timedelta(minutes=1))
    execution.on_bar(bar(1, 100))
    execution.submit("s#0", "SPY", Side.SELL, 100, None, 90.0, T0 + timedelta(minutes=2))  # a stop-loss
    execution.on_bar(bar(2, 101))
    assert execution.position("s#0", "SPY") == 100
    return execution


def test_the_close_flattens_even_with_a_resting_stop() -> None:
    execution = holding_with_a_resting_stop()
    execution.close_session(T0 + timedelta(minutes=3))
    assert execution.positions() == {}
    statuses = [o.status for o in execution.orders()]  # in the order they were made
    assert statuses == [OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.FILLED]


def test_flatten_on_request_cancels_first_and_works_while_halted() -> None:
    execution = holding_with_a_resting_stop()
    execution.halt(True)
    [order] = execution.flatten(T0 + timedelta(minutes=3))
    assert order.status is OrderStatus.NEW
    execution.on_bar(bar(3, 102))
    assert execution.positions() == {}


def test_cancelling_an_order_refused_locally_returns_it() -> None:
    execution = ExecutionManager(PaperBroker())
    execution.halt(True)
    refused = execution.submit("s#0", "SPY", Side.BUY, 1, None, None, T0)
    assert refused.status is OrderStatus.REFUSED
    assert execution.cancel(refused.client_order_id) == refused


class RealAccount(PaperBroker):
    """The paper broker's book, but declared a real account (as the live adapters are): its
    orders outlive the run, so a replayed step must send it none."""

    @property
    def capabilities(self) -> BrokerCapabilities:
        return replace(super().capabilities, simulated=False)


def test_a_catch_up_step_sends_nothing_to_a_real_account_and_everything_to_the_paper_one() -> None:
    for broker, sent_while_catching_up in ((RealAccount(initial_cash=100_000.0), False),
                                           (PaperBroker(initial_cash=100_000.0), True)):
        execution = ExecutionManager(broker)
        execution.on_bar(bar(0, 100))
        execution.begin_step(T0 + timedelta(minutes=1), catch_up=True)
        late = execution.submit("s#0", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=1))
        if sent_while_catching_up:
            assert late.status is OrderStatus.NEW
            continue
        assert late.status is OrderStatus.REFUSED and late.reason == RiskCheck.BAR_PASSED.value
        assert broker.orders() == [], "the refused order never reached the account"
        assert execution.take_unreported("s#0") == [(late, "bar_passed")]
        execution.on_bar(bar(1, 100))
        execution.begin_step(T0 + timedelta(minutes=2))  # the first step of the feed: in time
        assert execution.submit("s#0", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=2)).status \
            is OrderStatus.NEW


def test_the_closing_orders_of_a_real_account_are_market_orders() -> None:
    for broker, closing in ((RealAccount(initial_cash=100_000.0), OrderType.MARKET),
                            (PaperBroker(initial_cash=100_000.0), OrderType.MARKET_ON_CLOSE)):
        execution = ExecutionManager(broker)
        execution.on_bar(bar(0, 100))
        execution.submit("s#0", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=1))
        execution.on_bar(bar(1, 100))
        execution.close_session(T0 + timedelta(minutes=2))
        types = [o.request.type for o in broker.orders()]
        assert types[0] is OrderType.MARKET and types[1:] and set(types[1:]) == {closing}


def test_the_close_brings_a_real_account_to_zero_in_the_session_symbols_only() -> None:
    broker = RealAccount(initial_cash=100_000.0)
    # 40 SPY no strategy explains (a position changed by hand), and the user's own AAPL
    for symbol, shares in (("SPY", 40), ("AAPL", 10)):
        broker.on_bar(bar(0, 100, symbol))
        broker.submit(OrderRequest(f"old-{symbol}", symbol, Side.BUY, shares, OrderType.MARKET, None, None,
                                   T0 + timedelta(minutes=1)))
        broker.on_bar(bar(1, 100, symbol))
    broker.drain_fills()
    execution = ExecutionManager(broker)
    execution.begin_session(T0.date(), T0 + timedelta(hours=6, minutes=30), ["SPY"])
    assert execution.strategy_positions() == {}, "nothing is adopted before a reconciliation or the close"
    execution.on_bar(bar(2, 100))
    execution.close_session(T0 + timedelta(minutes=3))
    closing = [o for o in execution.orders() if o.request.strategy == ACCOUNT_OWNER]
    assert {(o.request.side, o.request.quantity) for o in closing} == {(Side.SELL, 40)}
    assert not [o for o in execution.orders() if o.request.symbol == "AAPL" and o.client_order_id != "old-AAPL"], \
        "AAPL is not the session's: the user's own, never touched"
    assert ExecutionManager(PaperBroker()).strategy_positions() == {}
