"""ExecutionManager keeps one book per (strategy, symbol) over the broker's one net position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
import structlog.testing

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderStatus, OrderType, Position, Side
from mismarterad.core.risk import RiskLimits
from mismarterad.integrations.broker_errors import BrokerUnavailableError
from mismarterad.integrations.paper import PaperBroker
from mismarterad.managers.execution_manager import ExecutionManager, PositionMismatch
from mismarterad.managers.risk_guard import RiskGuard

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
A, B = "sma_cross#0", "sma_cross#1"


def bar(minute: int, price: float = 100.0) -> Bar:
    return Bar("SPY", "1m", T0 + timedelta(minutes=minute), price, price + 0.5, price - 0.5, price, 1000)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def two_holders(broker: PaperBroker | None = None, limits: RiskLimits | None = None) -> ExecutionManager:
    """A holds 100 SPY, B holds 30 SPY: one net broker position of 130."""
    execution = ExecutionManager(broker or PaperBroker(initial_cash=100_000.0), RiskGuard(limits or RiskLimits()))
    execution.on_bar(bar(0))
    execution.submit(A, "SPY", Side.BUY, 100, None, None, at(1))
    execution.submit(B, "SPY", Side.BUY, 30, None, None, at(1))
    execution.on_bar(bar(1))
    return execution


def test_each_strategy_has_its_own_position_and_fills_carry_it() -> None:
    execution = two_holders()
    assert execution.position(A, "SPY") == 100 and execution.position(B, "SPY") == 30
    assert execution.position("other#2", "SPY") == 0
    assert execution.strategy_positions() == {(A, "SPY"): 100, (B, "SPY"): 30}
    assert execution.positions() == {"SPY": 130}
    orders = execution.orders()
    assert [o.request.strategy for o in orders] == [A, B]
    assert [(f.client_order_id, f.strategy) for f in execution.fills()] == [(o.client_order_id, o.request.strategy)
                                                                          for o in orders]
    assert execution.position_mismatches() == []


def test_a_sell_beyond_the_strategys_own_shares_is_refused_locally() -> None:
    broker = PaperBroker(initial_cash=100_000.0)
    execution = two_holders(broker)
    oversell = execution.submit(B, "SPY", Side.SELL, 31, None, None, at(2))  # the net 130 would allow it
    assert oversell.status is OrderStatus.REFUSED and oversell.reason == "allow_short"
    assert "short selling is not allowed" in (oversell.detail or "")
    assert oversell.client_order_id not in {o.client_order_id for o in broker.orders()}
    resting = execution.submit(B, "SPY", Side.SELL, 20, None, 90.0, T0 + timedelta(minutes=2))  # a stop-loss
    assert resting.status is OrderStatus.NEW
    # its own open sells count against it; A's shares are still A's to sell
    again = execution.submit(B, "SPY", Side.SELL, 11, None, None, at(2))
    assert again.status is OrderStatus.REFUSED and again.reason == "allow_short"
    assert execution.submit(B, "SPY", Side.SELL, 10, None, None, at(2)).status is OrderStatus.NEW
    assert execution.submit(A, "SPY", Side.SELL, 100, None, None, at(2)).status is OrderStatus.NEW
    execution.on_bar(bar(2))
    assert execution.strategy_positions() == {(B, "SPY"): 20}
    assert execution.position_mismatches() == []


def test_with_allow_short_a_shorting_broker_takes_the_sell() -> None:
    execution = two_holders(PaperBroker(initial_cash=100_000.0, short_selling=True), RiskLimits(allow_short=True))
    assert execution.submit(B, "SPY", Side.SELL, 50, None, None, at(2)).status is OrderStatus.NEW
    execution.on_bar(bar(2))
    assert execution.strategy_positions() == {(A, "SPY"): 100, (B, "SPY"): -20}
    assert execution.positions() == {"SPY": 80}


def test_the_close_flattens_each_strategy_with_its_own_order() -> None:
    execution = two_holders()
    stop = execution.submit(A, "SPY", Side.SELL, 100, None, 90.0, at(2))  # a resting stop must not block the flatten
    execution.on_bar(bar(2, 101))
    execution.close_session(at(3))
    assert execution.strategy_positions() == {} and execution.positions() == {}
    closing = [o for o in execution.orders() if o.request.type is OrderType.MARKET_ON_CLOSE]
    assert [(o.request.strategy, o.request.side, o.request.quantity, o.status) for o in closing] == [
        (A, Side.SELL, 100, OrderStatus.FILLED), (B, Side.SELL, 30, OrderStatus.FILLED)]
    assert {o.client_order_id: o.status for o in execution.orders()}[stop.client_order_id] is OrderStatus.CANCELED
    assert [f.strategy for f in execution.fills()][-2:] == [A, B]
    assert execution.position_mismatches() == []


def test_flatten_on_request_closes_each_strategy_even_while_halted() -> None:
    execution = two_holders()
    execution.submit(B, "SPY", Side.SELL, 30, 150.0, None, at(2))  # a resting limit
    execution.halt(True)
    refused = execution.submit(A, "SPY", Side.BUY, 1, None, None, at(2))
    assert refused.status is OrderStatus.REFUSED and refused.reason == "halted"
    orders = execution.flatten(at(2))
    assert [(o.request.strategy, o.request.quantity, o.status) for o in orders] == [
        (A, 100, OrderStatus.NEW), (B, 30, OrderStatus.NEW)]
    execution.on_bar(bar(2))
    assert execution.strategy_positions() == {}
    assert execution.position_mismatches() == []


class _MiscountingBroker(PaperBroker):
    """Reports one share more than it holds: a broker and a book that disagree."""

    def positions(self) -> list[Position]:
        return [Position(p.symbol, p.quantity + 1, p.avg_price) for p in super().positions()]


def test_a_difference_with_the_broker_is_listed_while_it_lasts_and_logged_once_per_value() -> None:
    with structlog.testing.capture_logs() as logs:
        execution = two_holders(_MiscountingBroker(initial_cash=100_000.0))
        assert execution.position_mismatches() == [PositionMismatch("SPY", 130, 131)]
        execution.on_bar(bar(2))  # no fills: nothing changed, nothing new
        execution.submit(A, "SPY", Side.SELL, 10, None, None, at(3))
        execution.on_bar(bar(3))
        assert execution.position_mismatches() == [PositionMismatch("SPY", 120, 121)]  # the current one only
        execution.submit(A, "SPY", Side.BUY, 10, None, None, at(4))
        execution.on_bar(bar(4))  # back to 130 / 131: already logged
        assert execution.position_mismatches() == [PositionMismatch("SPY", 130, 131)]
    logged = [(e["strategies_total"], e["broker_quantity"]) for e in logs if e["event"] == "position_mismatch"]
    assert logged == [(130, 131), (120, 121)]


def test_after_close_no_strategy_order_reaches_the_broker_but_the_settling_flatten_does() -> None:
    execution = two_holders()
    execution.close()  # a shutdown: a strategy thread may still be running
    late = execution.submit(A, "SPY", Side.BUY, 5, None, None, at(2))
    assert late.status is OrderStatus.REFUSED and late.reason == "halted"
    assert late.client_order_id not in {o.client_order_id for o in execution.open_orders()}
    execution.on_bar(bar(2))
    execution.close_session(at(3))
    assert execution.strategy_positions() == {} and execution.positions() == {}


class _PositionsDownBroker(PaperBroker):
    """Fills orders but cannot list its positions (a venue answering 500 after the retries)."""

    def positions(self) -> list[Position]:
        raise BrokerUnavailableError("the venue kept failing GET positions (HTTP 500)", "127.0.0.1")


def test_a_positions_listing_that_fails_after_a_fill_is_logged_and_the_step_goes_on() -> None:
    with structlog.testing.capture_logs() as logs:
        execution = two_holders(_PositionsDownBroker(initial_cash=100_000.0))  # fills, each then compared
        execution.submit(A, "SPY", Side.SELL, 100, None, None, at(2))
        execution.on_bar(bar(2))
    assert execution.strategy_positions() == {(B, "SPY"): 30}  # the fills are booked all the same
    failed = [e for e in logs if e["event"] == "broker_call_failed"]
    assert failed and all("HTTP 500" in e["error"] for e in failed)
