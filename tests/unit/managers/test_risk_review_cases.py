"""Cases a review found in the first version of the risk guards, each one a way money could slip
past a limit: kept as tests so they stay closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Fill, OrderStatus, Position, RejectCategory, Side
from mismarterad.core.risk import RiskLimits
from mismarterad.integrations.paper import PaperBroker
from unit.managers.test_risk_guard import A, B, CLOSE, DAY, T0, at, bar, holding, manager, status


def test_a_halt_keeps_the_working_flatten_orders_and_a_second_flatten_sends_nothing() -> None:
    execution = manager(RiskLimits(daily_loss_limit=100.0))
    execution.begin_session(DAY, CLOSE)
    holding(execution)
    execution.on_bar(bar(2, 98.0))  # 100 shares lose 200
    execution.begin_step(at(3))
    [closing] = execution.open_orders()
    assert closing.request.side is Side.SELL and closing.request.quantity == 100
    execution.halt(True)
    assert execution.cancel_open_orders(keep_closing=True) == []  # the operator's halt after the alert
    assert execution.flatten(at(3)) == []  # already covered
    assert [o.client_order_id for o in execution.open_orders()] == [closing.client_order_id]
    execution.on_bar(bar(3, 98.0))
    assert execution.positions() == {} and status(execution, closing) is OrderStatus.FILLED


def test_under_25000_the_day_trades_to_come_count_so_no_fourth_opens() -> None:
    execution = manager(broker=PaperBroker(initial_cash=20_000.0))
    execution.begin_session(DAY, CLOSE)
    for minute, symbol in enumerate(["SPY", "QQQ", "IWM", "DIA", "XLF"]):
        execution.on_bar(Bar(symbol, "1m", T0 + timedelta(minutes=minute), 10.0, 10.5, 9.5, 10.0, 1000))
    accepted = [execution.submit(A, s, Side.BUY, 10, None, None, at(5)).status
                for s in ["SPY", "QQQ", "IWM", "DIA", "XLF"]]
    assert accepted == [OrderStatus.NEW] * 3 + [OrderStatus.REFUSED] * 2
    assert {o.reason for o in execution.orders() if o.status is OrderStatus.REFUSED} == {"pattern_day_trader"}
    assert execution.submit(A, "SPY", Side.BUY, 5, None, None, at(5)).status is OrderStatus.NEW  # adding: no new one


def test_an_exit_of_one_strategy_may_not_grow_the_accounts_net_position_past_the_cap() -> None:
    execution = manager(RiskLimits(allow_short=True, max_shares_per_symbol=50),
                        broker=PaperBroker(initial_cash=100_000.0, short_selling=True))
    execution.begin_session(DAY, CLOSE)
    holding(execution, 50)  # A long 50
    assert execution.submit(B, "SPY", Side.SELL, 100, None, None, at(2)).status is OrderStatus.NEW  # net -50
    execution.on_bar(bar(2))
    assert execution.positions() == {"SPY": -50}
    grow = execution.submit(A, "SPY", Side.SELL, 50, None, None, at(3))  # A's exit, the account's entry
    assert grow.status is OrderStatus.REFUSED and grow.reason == "max_shares_per_symbol"


def test_working_entries_are_canceled_when_the_no_entry_window_opens() -> None:
    execution = manager(RiskLimits(no_entry_minutes_before_close=30))
    execution.begin_session(DAY, CLOSE)
    holding(execution)
    entry = execution.submit(A, "SPY", Side.BUY, 10, 99.0, None, at(351))
    stop = execution.submit(A, "SPY", Side.SELL, 100, None, 90.0, at(351))
    execution.begin_step(at(359))
    assert status(execution, entry) is OrderStatus.NEW
    execution.begin_step(at(360))
    assert status(execution, entry) is OrderStatus.CANCELED and status(execution, stop) is OrderStatus.NEW


def test_an_order_stamped_ahead_does_not_freeze_the_per_minute_window() -> None:
    execution = manager(RiskLimits(max_orders_per_minute=3))
    execution.begin_session(DAY, CLOSE)
    holding(execution)
    execution.halt(True)
    [ahead] = execution.flatten(at(300))  # an operator's flatten with the daemon's clock far ahead
    execution.halt(False)
    execution.cancel(ahead.client_order_id)
    sent = [execution.submit(A, "SPY", Side.BUY, 1, None, None, at(10 + m)).status for m in range(5)]
    assert sent == [OrderStatus.NEW] * 5


def test_malformed_orders_are_rejected_before_any_check() -> None:
    execution = manager(RiskLimits(price_collar_pct=5.0, max_shares_per_symbol=10))
    execution.begin_session(DAY, CLOSE)
    execution.on_bar(bar(0))
    nan = execution.submit(A, "SPY", Side.BUY, 1_000_000, float("nan"), None, at(1))
    negative = execution.submit(A, "SPY", Side.BUY, -5, None, None, at(1))
    fraction = execution.submit(A, "SPY", Side.BUY, 2.5, None, None, at(1))  # type: ignore[arg-type]
    assert (nan.status, nan.reject_category) == (OrderStatus.REJECTED, RejectCategory.INVALID_PRICE)
    assert negative.reject_category is fraction.reject_category is RejectCategory.INVALID_QUANTITY
    assert execution.open_orders() == []


def test_without_a_pre_close_flatten_entries_at_the_close_are_refused_and_the_close_flattens_once() -> None:
    execution = manager(RiskLimits())  # flatten_minutes_before_close = 0
    execution.begin_session(DAY, CLOSE)
    holding(execution)
    execution.on_bar(bar(389))
    execution.begin_step(CLOSE)  # the last step ends at the close
    late = execution.submit(A, "SPY", Side.BUY, 5, None, None, CLOSE)
    assert late.status is OrderStatus.REFUSED and late.reason == "flatten_minutes_before_close"
    assert execution.submit(A, "SPY", Side.SELL, 40, None, None, CLOSE).status is OrderStatus.NEW  # an exit
    execution.close_session(CLOSE)
    assert execution.positions() == {}
    closes = [o for o in execution.orders() if o.status is OrderStatus.FILLED and o.request.side is Side.SELL]
    assert [o.request.quantity for o in closes] == [100]  # one closing order: the exit was replaced, not added


def test_an_entry_with_no_price_is_refused_until_one_is_known() -> None:
    execution = manager(RiskLimits(max_notional_per_symbol=50_000.0))
    execution.begin_session(DAY, CLOSE)
    blind = execution.submit(A, "SPY", Side.BUY, 1_000_000, None, None, at(0))  # before any bar
    assert blind.status is OrderStatus.REFUSED and blind.reason == "buying_power"
    execution.seed_price("SPY", 100.0)  # the engine seeds the newest history at the session start
    big = execution.submit(A, "SPY", Side.BUY, 1_000, None, None, at(0))
    assert big.status is OrderStatus.REFUSED and big.reason == "max_notional_per_symbol"
    assert execution.submit(A, "SPY", Side.BUY, 500, None, None, at(0)).status is OrderStatus.NEW


def test_a_buy_stop_below_the_market_is_valued_at_the_market() -> None:
    execution = manager(RiskLimits(max_notional_per_symbol=50_000.0))
    execution.begin_session(DAY, CLOSE)
    execution.on_bar(bar(0))
    cheap = execution.submit(A, "SPY", Side.BUY, 5_000, None, 1.0, at(1))  # fills at once, at ~100
    assert cheap.status is OrderStatus.REFUSED and cheap.reason == "max_notional_per_symbol"
    assert execution.submit(A, "SPY", Side.BUY, 5_000, 1.0, None, at(1)).status is OrderStatus.NEW  # a limit: ≤ 1


def test_a_flip_through_zero_of_a_position_opened_today_counts_two_day_trades() -> None:
    execution = manager(RiskLimits(allow_short=True), broker=PaperBroker(initial_cash=20_000.0, short_selling=True),
                        pdt_history=lambda day: ([day], 2))
    execution.begin_session(DAY, CLOSE)
    holding(execution, 10)  # 2 earlier + this one to come = 3
    flip = execution.submit(A, "SPY", Side.SELL, 20, None, None, at(2))
    assert flip.status is OrderStatus.REFUSED and flip.reason == "pattern_day_trader"
    assert execution.submit(A, "SPY", Side.SELL, 10, None, None, at(2)).status is OrderStatus.NEW  # the exit


def test_numpy_whole_numbers_are_quantities_and_a_strategy_cannot_cancel_a_flatten() -> None:
    import numpy as np

    execution = manager(RiskLimits(daily_loss_limit=100.0))
    execution.begin_session(DAY, CLOSE)
    execution.on_bar(bar(0))
    order = execution.submit(A, "SPY", Side.BUY, np.int64(100), None, None, at(1))  # type: ignore[arg-type]
    assert order.status is OrderStatus.NEW and type(order.request.quantity) is int
    execution.on_bar(bar(1))
    execution.on_bar(bar(2, 98.0))
    execution.begin_step(at(3))  # the loss flatten
    [closing] = execution.open_orders()
    assert execution.strategy_of(closing.client_order_id) == A
    assert execution.cancel(closing.client_order_id).status is OrderStatus.NEW  # A's name, the engine's order
    execution.on_bar(bar(3, 98.0))
    assert execution.positions() == {}


class _LateFillBroker(PaperBroker):
    """A real account's view of a paper account whose readings lag while `hold` is on: its fills
    and positions as they were, as Schwab's polled ones can reach the daemon after it moved on."""

    def __init__(self) -> None:
        super().__init__(initial_cash=100_000.0)
        self._capabilities = replace(self._capabilities, simulated=False)
        self._held: list[Fill] = []
        self._shown: list[Position] | None = None

    def hold(self, on: bool) -> None:
        self._shown = super().positions() if on else None

    def positions(self) -> list[Position]:
        return super().positions() if self._shown is None else list(self._shown)

    def drain_fills(self) -> list[Fill]:
        self._held += super().drain_fills()
        if self._shown is not None:
            return []
        fills, self._held = self._held, []
        return fills


def test_a_fill_read_after_the_pre_close_flatten_is_closed_before_the_close() -> None:
    broker = _LateFillBroker()
    execution = manager(flatten=15, broker=broker)
    execution.begin_session(DAY, CLOSE)
    execution.on_bar(bar(372))
    entry = execution.submit(A, "SPY", Side.BUY, 100, None, None, at(373))
    assert entry.status is OrderStatus.NEW
    broker.hold(True)
    execution.on_bar(bar(373))  # filled at the venue, not yet read
    execution.begin_step(at(375))  # the pre-close flatten: nothing held that the daemon knows of
    assert execution.positions() == {} and not execution.open_orders()
    broker.hold(False)
    execution.on_bar(bar(375))  # the fill is read now
    assert execution.position(A, "SPY") == 100
    execution.begin_step(at(376))
    [closing] = execution.open_orders()
    assert closing.request.side is Side.SELL and closing.request.quantity == 100
    execution.begin_step(at(377))  # covered by the working flatten order: nothing more
    assert len(execution.open_orders()) == 1
    execution.on_bar(bar(377))
    assert execution.positions() == {} and not broker.positions()
