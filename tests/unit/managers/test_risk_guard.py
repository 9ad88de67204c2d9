"""RiskGuard through the ExecutionManager and a PaperBroker: the pre-close flatten, the daily
loss halt, the orders-per-minute window, unreported refusals and the PDT window across sessions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import structlog.testing

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import AccountSnapshot, Order, OrderStatus, OrderType, Side
from mismarterad.core.risk import LossHalt, RiskLimits
from mismarterad.integrations.paper import PaperBroker
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.managers.risk_guard import PdtHistory, RiskGuard

DAY = date(2011, 1, 3)
T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)  # the open; the close is 390 minutes later
CLOSE = T0 + timedelta(minutes=390)
A, B = "sma_cross#0", "sma_cross#1"
DAYS = [date(2011, 1, d) for d in (3, 4, 5, 6, 7, 10, 11, 12)]  # trading days


def open_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)


def bar(minute: int, price: float = 100.0, day: date = DAY) -> Bar:
    return Bar("SPY", "1m", open_of(day) + timedelta(minutes=minute), price, price + 0.5, price - 0.5, price, 1000)


def at(minute: float, day: date = DAY) -> datetime:
    return open_of(day) + timedelta(minutes=minute)


def manager(limits: RiskLimits | None = None, flatten: int = 0, broker: PaperBroker | None = None,
            pdt_history: PdtHistory | None = None) -> ExecutionManager:
    return ExecutionManager(broker or PaperBroker(initial_cash=100_000.0),
                            RiskGuard(limits or RiskLimits(), flatten, pdt_history))


def status(execution: ExecutionManager, order: Order) -> OrderStatus:
    return {o.client_order_id: o.status for o in execution.orders()}[order.client_order_id]


def holding(execution: ExecutionManager, shares: int = 100, minute: int = 1, day: date = DAY) -> None:
    """A buys `shares` SPY at 100 (filled at the next bar's open)."""
    execution.on_bar(bar(minute - 1, day=day))
    order = execution.submit(A, "SPY", Side.BUY, shares, None, None, at(minute, day))
    assert order.status is OrderStatus.NEW, order
    execution.on_bar(bar(minute, day=day))
    assert execution.position(A, "SPY") == shares


# -- the pre-close flatten -------------------------------------------------------------------


def test_the_pre_close_flatten_happens_once_cancels_resting_orders_and_closes_entries() -> None:
    execution = manager(flatten=15)
    execution.begin_session(DAY, CLOSE)
    holding(execution)
    resting_exit = execution.submit(A, "SPY", Side.SELL, 50, 150.0, None, at(2))
    resting_entry = execution.submit(B, "SPY", Side.BUY, 10, 50.0, None, at(2))
    assert resting_exit.status is resting_entry.status is OrderStatus.NEW
    execution.begin_step(at(374))  # one minute early: nothing
    assert execution.open_orders() and len(execution.orders()) == 3
    assert execution.submit(B, "SPY", Side.BUY, 1, 50.0, None, at(374)).status is OrderStatus.NEW
    with structlog.testing.capture_logs() as logs:
        execution.begin_step(at(375))  # close - 15 minutes
        execution.begin_step(at(376))
    assert [e["event"] for e in logs].count("pre_close_flatten") == 1
    assert status(execution, resting_exit) is status(execution, resting_entry) is OrderStatus.CANCELED
    [flatten] = execution.open_orders()
    assert (flatten.request.strategy, flatten.request.side, flatten.request.quantity, flatten.request.type) == (
        A, Side.SELL, 100, OrderType.MARKET)
    late = execution.submit(B, "SPY", Side.BUY, 1, None, None, at(376))
    assert late.status is OrderStatus.REFUSED and late.reason == "flatten_minutes_before_close"
    assert late.detail and "(flatten_minutes_before_close)" in late.detail
    # once only: with the flatten order canceled the position stays, and no later step flattens again
    execution.cancel_open_orders()  # the flatten too
    count = len(execution.orders())
    for minute in (377, 380, 389, 390):
        execution.begin_step(at(minute))
    assert len(execution.orders()) == count and execution.position(A, "SPY") == 100
    # an exit still passes inside the window
    assert execution.submit(A, "SPY", Side.SELL, 100, None, None, at(390)).status is OrderStatus.NEW
    execution.on_bar(bar(390))
    assert execution.positions() == {}
    assert execution.refusal_counts()["flatten_minutes_before_close"] == 1


def test_the_flatten_happens_at_the_first_step_at_or_after_the_time_even_if_a_step_was_skipped() -> None:
    execution = manager(flatten=15)
    execution.begin_session(DAY, CLOSE)
    holding(execution)
    execution.begin_step(at(370))
    assert execution.open_orders() == []
    with structlog.testing.capture_logs() as logs:
        execution.begin_step(at(381))  # no step ended at 375
    [event] = [e for e in logs if e["event"] == "pre_close_flatten"]
    assert event["at"] == at(381).isoformat()
    assert [o.request.quantity for o in execution.open_orders()] == [100]


def test_a_new_session_opens_entries_again_and_flattens_again() -> None:
    execution = manager(flatten=15)
    execution.begin_session(DAY, CLOSE)
    holding(execution)
    execution.begin_step(at(375))
    execution.on_bar(bar(375))
    assert execution.positions() == {}
    nxt = DAYS[1]
    execution.begin_session(nxt, at(390, nxt))
    holding(execution, 10, day=nxt)
    execution.begin_step(at(375, nxt))
    assert [o.request.quantity for o in execution.open_orders()] == [10]


def test_without_flatten_minutes_there_is_no_pre_close_flatten() -> None:
    execution = manager()
    execution.begin_session(DAY, CLOSE)
    holding(execution)
    execution.begin_step(at(389))
    execution.begin_step(at(390))
    assert execution.open_orders() == []
    assert execution.submit(A, "SPY", Side.BUY, 1, None, None, at(389)).status is OrderStatus.NEW


# -- the daily loss limit --------------------------------------------------------------------


def _breached() -> tuple[ExecutionManager, Order, Order]:
    execution = manager(RiskLimits(daily_loss_limit=1_000.0))
    execution.on_bar(bar(0))
    execution.begin_session(DAY, CLOSE)  # start equity 100,000
    holding(execution, 100, minute=1)
    resting_exit = execution.submit(A, "SPY", Side.SELL, 50, 150.0, None, at(2))
    resting_entry = execution.submit(B, "SPY", Side.BUY, 10, 50.0, None, at(2))
    execution.on_bar(bar(2, 90.0))  # equity 99,000: the loss is exactly the limit
    execution.begin_step(at(3))
    assert execution.loss_halt is None and execution.loss_halts() == []
    assert status(execution, resting_exit) is OrderStatus.NEW
    execution.on_bar(bar(3, 89.0))  # equity 98,900
    execution.begin_step(at(4))
    return execution, resting_exit, resting_entry


def test_a_daily_loss_breach_cancels_flattens_halts_and_refuses_entries_only() -> None:
    execution, resting_exit, resting_entry = _breached()
    halt = LossHalt(at(4), DAY, 100_000.0, 98_900.0, 1_000.0)
    assert execution.loss_halts() == [halt] and execution.loss_halt == halt and halt.loss == 1_100.0
    assert status(execution, resting_exit) is status(execution, resting_entry) is OrderStatus.CANCELED
    [flatten] = execution.open_orders()
    assert (flatten.request.strategy, flatten.request.side, flatten.request.quantity) == (A, Side.SELL, 100)
    entry = execution.submit(B, "SPY", Side.BUY, 1, None, None, at(4))
    assert entry.status is OrderStatus.REFUSED and entry.reason == "daily_loss_limit"
    [refusal] = execution.refusals()
    assert (refusal.check.value, refusal.limit, refusal.value) == ("daily_loss_limit", 1_000.0, 1_100.0)
    execution.cancel_open_orders()  # the flatten too: keep the position to show an exit passes
    assert execution.submit(A, "SPY", Side.SELL, 100, None, None, at(4)).status is OrderStatus.NEW
    execution.begin_step(at(5))
    assert len(execution.loss_halts()) == 1  # breached once per session


def test_an_entry_refused_at_the_breach_halts_at_once() -> None:
    execution = manager(RiskLimits(daily_loss_limit=1_000.0))
    execution.on_bar(bar(0))
    execution.begin_session(DAY, CLOSE)
    holding(execution)
    execution.on_bar(bar(2, 80.0))  # no begin_step yet
    assert execution.submit(A, "SPY", Side.SELL, 10, None, None, at(3)).status is OrderStatus.NEW  # an exit
    entry = execution.submit(B, "SPY", Side.BUY, 1, None, None, at(3))
    assert entry.status is OrderStatus.REFUSED and entry.reason == "daily_loss_limit"
    assert [h.equity for h in execution.loss_halts()] == [98_000.0]
    assert sorted(o.request.quantity for o in execution.open_orders()) == [100]  # the exit canceled, flatten sent


def test_a_new_session_clears_the_loss_halt() -> None:
    execution, _, _ = _breached()
    execution.on_bar(bar(4, 89.0))  # the flatten fills
    assert execution.positions() == {}
    nxt = DAYS[1]
    execution.begin_session(nxt, at(390, nxt))
    assert execution.loss_halt is None and len(execution.loss_halts()) == 1
    assert execution.submit(B, "SPY", Side.BUY, 1, None, None, at(1, nxt)).status is OrderStatus.NEW


def test_resume_lifts_the_loss_halt_and_rebases_the_days_start_equity() -> None:
    execution, _, _ = _breached()
    execution.on_bar(bar(4, 89.0))  # flattened at 89: equity 98,900
    execution.halt(False)
    assert execution.loss_halt is None
    assert execution.submit(A, "SPY", Side.BUY, 100, None, None, at(5)).status is OrderStatus.NEW
    execution.on_bar(bar(5, 89.0))
    execution.on_bar(bar(6, 79.0))  # 1,000 down from the resume: exactly the limit again
    execution.begin_step(at(7))
    assert execution.loss_halt is None
    execution.on_bar(bar(7, 78.99))
    execution.begin_step(at(8))
    assert execution.loss_halt is not None and execution.loss_halt.start_equity == 98_900.0
    assert len(execution.loss_halts()) == 2


# -- orders per minute -----------------------------------------------------------------------


def test_the_orders_per_minute_window_slides() -> None:
    execution = manager(RiskLimits(max_orders_per_minute=2))
    execution.on_bar(bar(0))
    t = at(1)

    def send(seconds: float) -> Order:
        return execution.submit(A, "SPY", Side.BUY, 1, None, None, t + timedelta(seconds=seconds))

    assert send(0).status is OrderStatus.NEW
    assert send(10).status is OrderStatus.NEW
    third = send(59)
    assert third.status is OrderStatus.REFUSED and third.reason == "max_orders_per_minute"
    assert send(60).status is OrderStatus.NEW  # the first is a minute old: no longer counted
    assert send(61).status is OrderStatus.REFUSED  # the refused one at 59 never counted; 10 and 60 do
    assert send(70).status is OrderStatus.NEW
    [first, second] = execution.refusals()
    assert (first.limit, first.value) == (2, 3)
    assert execution.refusal_counts()["max_orders_per_minute"] == 2


# -- unreported refusals ---------------------------------------------------------------------


def test_refused_orders_are_returned_once_by_take_unreported() -> None:
    execution = manager(RiskLimits(max_open_orders=1))
    holding(execution)
    first = execution.submit(A, "SPY", Side.SELL, 101, None, None, at(2))  # beyond its shares
    b_refused = execution.submit(B, "SPY", Side.SELL, 1, None, None, at(2))
    assert execution.submit(A, "SPY", Side.SELL, 10, 150.0, None, at(2)).status is OrderStatus.NEW
    second = execution.submit(A, "SPY", Side.BUY, 1, 90.0, None, at(2))  # max_open_orders
    rejected = execution.submit(A, "SPY", Side.BUY, 1, 90.0, 95.0, at(2))  # limit and stop: rejected
    assert [o.reason for o in (first, b_refused, second)] == ["allow_short", "allow_short", "max_open_orders"]
    taken = execution.take_unreported(A)
    assert [o.client_order_id for o, _ in taken] == [first.client_order_id, second.client_order_id,
                                                     rejected.client_order_id]
    assert [reason for _, reason in taken] == ["allow_short", "max_open_orders", "rejected:unsupported_type"]
    assert taken[0][0].status is OrderStatus.REFUSED and taken[2][0].status is OrderStatus.REJECTED
    assert execution.take_unreported(A) == []
    assert [o.client_order_id for o, _ in execution.take_unreported(B)] == [b_refused.client_order_id]
    assert execution.take_unreported(B) == []
    execution.halt(True)
    execution.flatten(at(3))  # risk-reducing orders are never "unreported"
    assert execution.take_unreported(A) == []


# -- pattern day trader ----------------------------------------------------------------------


def fixed_windows(earlier: int = 0, extra: Sequence[date] = ()) -> PdtHistory:
    """Each day's window: it and the 4 trading days before it (plus `extra` days after those)."""
    def history(day: date) -> tuple[Sequence[date], int]:
        i = DAYS.index(day)
        return [DAYS[j] for j in range(i, max(i - 5, -1), -1)] + list(extra), earlier
    return history


def round_trip(execution: ExecutionManager, day: date, minute: int, shares: int = 10) -> None:
    assert execution.submit(A, "SPY", Side.BUY, shares, None, None, at(minute, day)).status is OrderStatus.NEW
    execution.on_bar(bar(minute, day=day))
    assert execution.submit(A, "SPY", Side.SELL, shares, None, None, at(minute + 1, day)).status is OrderStatus.NEW
    execution.on_bar(bar(minute + 1, day=day))


def small(broker: PaperBroker | None = None, **kw: object) -> ExecutionManager:
    return manager(broker=broker or PaperBroker(initial_cash=20_000.0), **kw)  # type: ignore[arg-type]


def entry(execution: ExecutionManager, day: date, minute: int = 300) -> Order:
    return execution.submit(B, "SPY", Side.BUY, 1, None, None, at(minute, day))


def test_pdt_counts_day_trades_across_sessions_inside_the_window_only() -> None:
    execution = small(pdt_history=fixed_windows())
    d1 = DAYS[0]
    execution.begin_session(d1, None)
    execution.on_bar(bar(0, day=d1))
    round_trip(execution, d1, 1)
    round_trip(execution, d1, 3)
    assert execution.submit(A, "SPY", Side.BUY, 20, None, None, at(5, d1)).status is OrderStatus.NEW  # 2 made
    execution.on_bar(bar(5, day=d1))
    assert execution.submit(A, "SPY", Side.SELL, 10, None, None, at(6, d1)).status is OrderStatus.NEW  # the 3rd
    execution.on_bar(bar(6, day=d1))
    refused = entry(execution, d1)
    assert refused.status is OrderStatus.REFUSED and refused.reason == "pattern_day_trader"
    assert (execution.refusals()[-1].limit, execution.refusals()[-1].value) == (3, 4)
    exit_ = execution.submit(A, "SPY", Side.SELL, 10, None, None, at(7, d1))  # exits still pass
    assert exit_.status is OrderStatus.NEW
    execution.on_bar(bar(7, day=d1))
    for day in DAYS[1:5]:  # d1 is still one of the last 5 sessions
        execution.begin_session(day, None)
        assert entry(execution, day).reason == "pattern_day_trader", day
    execution.begin_session(DAYS[5], None)  # the window is DAYS[5..1]: d1 is out
    assert entry(execution, DAYS[5]).status is OrderStatus.NEW


def test_a_window_longer_than_5_sessions_is_cut_to_5() -> None:
    d1 = DAYS[0]
    execution = small(pdt_history=fixed_windows(extra=[d1]))  # d1 given as a 6th day
    execution.begin_session(d1, None)
    execution.on_bar(bar(0, day=d1))
    for minute in (1, 3, 5):
        round_trip(execution, d1, minute)
    assert entry(execution, d1).reason == "pattern_day_trader"
    execution.begin_session(DAYS[5], None)
    assert entry(execution, DAYS[5]).status is OrderStatus.NEW


def test_day_trades_made_before_the_run_count() -> None:
    d = DAYS[2]
    execution = small(pdt_history=fixed_windows(earlier=3))
    execution.begin_session(d, None)
    execution.on_bar(bar(0, day=d))
    assert entry(execution, d, 1).reason == "pattern_day_trader"
    execution = small(pdt_history=fixed_windows(earlier=2))
    execution.begin_session(d, None)
    execution.on_bar(bar(0, day=d))
    assert entry(execution, d, 1).status is OrderStatus.NEW
    execution.on_bar(bar(1, day=d))
    assert execution.submit(B, "SPY", Side.SELL, 1, None, None, at(2, d)).status is OrderStatus.NEW  # the 3rd
    execution.on_bar(bar(2, day=d))
    assert entry(execution, d, 3).reason == "pattern_day_trader"


class _CountingBroker(PaperBroker):
    """A broker that keeps its own count of the PDT window's day trades."""

    def __init__(self, day_trades: int) -> None:
        super().__init__(initial_cash=20_000.0)
        self.day_trades = day_trades

    def account(self) -> AccountSnapshot:
        return replace(super().account(), day_trade_count=self.day_trades)


def test_the_brokers_larger_count_wins() -> None:
    d = DAYS[0]
    broker = _CountingBroker(3)
    execution = small(broker, pdt_history=fixed_windows())
    execution.begin_session(d, None)
    execution.on_bar(bar(0, day=d))
    assert entry(execution, d, 1).reason == "pattern_day_trader"  # none made here, 3 at the broker
    broker.day_trades = 2
    assert entry(execution, d, 1).status is OrderStatus.NEW
    execution.on_bar(bar(1, day=d))
    broker.day_trades = 1  # smaller than ours: ours wins
    execution.submit(B, "SPY", Side.SELL, 1, None, None, at(2, d))
    execution.on_bar(bar(2, day=d))
    round_trip(execution, d, 3)
    round_trip(execution, d, 5)
    assert entry(execution, d, 7).reason == "pattern_day_trader"
    broker.day_trades = None  # type: ignore[assignment]  # no count at the broker
    assert entry(execution, d, 7).reason == "pattern_day_trader"


def test_pdt_does_not_apply_from_25000_of_equity() -> None:
    d = DAYS[0]
    execution = manager(broker=_CountingBroker(9), pdt_history=fixed_windows())
    execution.begin_session(d, None)
    execution.on_bar(bar(0, day=d))
    assert entry(execution, d, 1).reason == "pattern_day_trader"  # 20,000
    execution = manager(broker=_CountingBroker(9), limits=RiskLimits(pattern_day_trader=False))
    execution.on_bar(bar(0, day=d))
    assert entry(execution, d, 1).status is OrderStatus.NEW
    rich = PaperBroker(initial_cash=25_000.0)
    execution = manager(broker=rich, pdt_history=fixed_windows(earlier=5))
    execution.begin_session(d, None)
    execution.on_bar(bar(0, day=d))
    assert entry(execution, d, 1).status is OrderStatus.NEW
