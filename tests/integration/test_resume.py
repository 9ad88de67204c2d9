"""Restart = resume, with a real account twin (the paper broker's book declared real: its orders
outlive the run) and the journal's in-memory twin: a second ExecutionManager replaying the same
steps adopts the first one's orders by id, sends nothing for the past, and reconciles."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from mismarterad.core.broker import BrokerCapabilities
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Order, OrderRequest, OrderStatus, OrderType, Position, Side
from mismarterad.core.reconciliation import MismatchKind, ReconcilePolicy
from mismarterad.core.risk import RiskLimits
from mismarterad.integrations.paper import PaperBroker
from mismarterad.managers.execution_manager import ACCOUNT_OWNER, ExecutionManager
from mismarterad.managers.order_journaling import OrderJournaling
from mismarterad.managers.reconciler import ReconcileSettings
from mismarterad.managers.risk_guard import RiskGuard
from mismarterad.repositories.memory_order_journal import MemoryOrderJournal
from mismarterad.services.breakdown import strategy_symbol_rows
from mismarterad.services.order_ids import SessionOrderIds
from mismarterad.services.strategy_pnl import day_pnl
from mismarterad.services.trade_matching import match_trades

DAY = date(2011, 1, 4)
T0 = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)
CLOSE = T0 + timedelta(hours=6, minutes=30)


class RealAccount(PaperBroker):
    @property
    def capabilities(self) -> BrokerCapabilities:
        return replace(super().capabilities, simulated=False)


def bar(minute: int, price: float = 100.0) -> Bar:
    return Bar("SPY", "1m", T0 + timedelta(minutes=minute), price, price + 0.5, price - 0.5, price, 1000)


def day_run(broker: PaperBroker, journal: MemoryOrderJournal,
            policy: ReconcilePolicy = ReconcilePolicy.HALT, flatten_minutes: int = 0) -> ExecutionManager:
    ids = SessionOrderIds("resume test", DAY)
    journaling = OrderJournaling(journal, journal.day(ids.prefix))
    execution = ExecutionManager(broker, RiskGuard(RiskLimits(), flatten_minutes), ids=ids, journaling=journaling,
                                 reconcile=ReconcileSettings(policy, 5))
    execution.begin_session(DAY, CLOSE, ["SPY"])
    return execution


def step(execution: ExecutionManager, minute: int, *, catch_up: bool = False) -> datetime:
    """One step in AnalysisEngine's order: the bar's fills, then the step's rules."""
    end = T0 + timedelta(minutes=minute + 1)
    execution.start_step(end, catch_up=catch_up)
    execution.on_bar(bar(minute))
    execution.begin_step(end, catch_up=catch_up)
    return end


def the_morning(execution: ExecutionManager, *, catch_up: bool = False, seen: list[int] | None = None) -> list[Order]:
    """What the strategy decides on minutes 0-2: buy 10 at once, then a resting sell far above
    (`seen`: the strategy's position at each step, as its on_bar would read it)."""
    decided = []
    for minute in range(3):
        now = step(execution, minute, catch_up=catch_up)
        if seen is not None:
            seen.append(execution.position("sma", "SPY"))
        if minute == 0:
            decided.append(execution.submit("sma", "SPY", Side.BUY, 10, None, None, now))
        if minute == 2:
            decided.append(execution.submit("sma", "SPY", Side.SELL, 10, 120.0, None, now))
    return decided


def test_a_resumed_day_adopts_its_orders_by_id_and_replays_its_fills() -> None:
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    seen_first: list[int] = []
    first = the_morning(day_run(broker, journal), seen=seen_first)
    sent = [o.client_order_id for o in broker.orders()]
    assert [o.client_order_id for o in first] == sent and sent[0].startswith("20110104-")
    # the process dies here; a new day-run of the day resumes
    resumed = day_run(broker, journal)
    seen_again: list[int] = []
    again = the_morning(resumed, catch_up=True, seen=seen_again)
    assert [o.client_order_id for o in again] == sent, "the same decisions get the same ids"
    assert seen_again == seen_first == [0, 10, 10], "the same position at the same step"
    assert [o.client_order_id for o in broker.orders()] == sent, "nothing was sent again"
    late = resumed.submit("sma", "SPY", Side.BUY, 5, None, None, T0 + timedelta(minutes=3))
    assert late.status is OrderStatus.REFUSED and late.reason == "bar_passed", "a new decision of the past is not sent"
    assert resumed.strategy_positions() == {("sma", "SPY"): 10}, "the fill counted again at its own step"
    assert len(resumed.fills()) == 1
    step(resumed, 3)  # the first live step: reconciled with the broker
    assert resumed.strategy_positions() == {("sma", "SPY"): 10} and len(resumed.fills()) == 1
    assert resumed.reconciliation_status().open == () and not resumed.halted
    assert [o.status for o in resumed.orders()][:2] == [OrderStatus.FILLED, OrderStatus.ACCEPTED]
    assert journal.day("20110104-").orders[-1].status is OrderStatus.REFUSED, "the refusal is journaled too"


def test_an_intent_the_broker_never_got_is_closed_as_never_sent() -> None:
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    ids = SessionOrderIds("resume test", DAY)
    lost = OrderRequest(ids.next("sma", "SPY"), "SPY", Side.BUY, 10, OrderType.MARKET, None, None,
                        T0 + timedelta(minutes=1), "sma")
    journal.record([Order(lost, OrderStatus.INTENT)])  # the crash came between the journal and the send
    resumed = day_run(broker, journal)
    [never] = journal.day(ids.prefix).orders
    assert never.status is OrderStatus.REFUSED and never.reason == "bar_passed"
    replayed = the_morning(resumed, catch_up=True)[0]
    assert replayed.client_order_id == lost.client_order_id and replayed.status is OrderStatus.REFUSED
    assert [o.client_order_id for o in broker.orders()] == [], "never sent late (the sell's bar passed too)"


def test_a_strangers_order_halts_trading_until_resume() -> None:
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    execution = day_run(broker, journal)
    the_morning(execution)
    broker.submit(OrderRequest("by-hand", "SPY", Side.BUY, 1, OrderType.LIMIT, 50.0, None, T0, ""))
    step(execution, 6)  # the periodic check, 5 minutes after the first live step's
    status = execution.reconciliation_status()
    assert [m.kind for m in status.open] == [MismatchKind.UNKNOWN_ORDER] and status.halted
    assert execution.halted and [o.client_order_id for o in broker.open_orders()] == ["by-hand"], \
        "our resting sell was canceled, the stranger's order is not ours to cancel"
    assert execution.submit("sma", "SPY", Side.BUY, 1, None, None, T0 + timedelta(minutes=7)).status \
        is OrderStatus.REFUSED
    execution.halt(False)  # mismarterctl resume
    assert not execution.halted and dict(execution.reconciliation_status().counts)["unknown_order"] == 1


def test_adopt_books_a_position_changed_by_hand_to_the_account_owner() -> None:
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    execution = day_run(broker, journal, ReconcilePolicy.ADOPT)
    the_morning(execution)
    broker.submit(OrderRequest("by-hand", "SPY", Side.BUY, 7, OrderType.MARKET, None, None, T0, ""))
    broker.on_bar(bar(3))  # it fills; the day-run never hears of it (not its order)
    broker.drain_fills()
    step(execution, 6)
    kinds = sorted(m.kind for m in execution.reconciliation_status().open)
    assert kinds == [MismatchKind.POSITION] and not execution.halted
    assert execution.strategy_positions() == {(ACCOUNT_OWNER, "SPY"): 7, ("sma", "SPY"): 10}


def test_an_order_canceled_at_the_broker_by_hand_is_a_missing_order() -> None:
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    execution = day_run(broker, journal)
    resting = the_morning(execution)[1]
    broker.cancel(resting.client_order_id)  # by hand, at the broker: not our cancel
    step(execution, 6)
    [missing] = execution.reconciliation_status().open
    assert (missing.kind, missing.client_order_id) == (MismatchKind.MISSING_ORDER, resting.client_order_id)
    assert execution.halted
    step(execution, 12)  # the next check sees it again: counted once
    assert dict(execution.reconciliation_status().counts)["missing_order"] == 1


def test_fills_a_catch_up_counted_at_its_end_are_replayed_there_by_the_next_resume() -> None:
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    first = day_run(broker, journal)
    step(first, 0)
    first.submit("sma", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=1))
    # killed before the fill; the next day-run's catch-up sees it fill at minute 1 (held to its end)
    second = day_run(broker, journal)
    for minute in range(3):
        step(second, minute, catch_up=True)
    assert second.strategy_positions() == {}, "a catch-up's new fill waits for its end"
    counted_at = step(second, 3)
    assert second.strategy_positions() == {("sma", "SPY"): 10}
    [booked] = journal.day("20110104-").fills
    assert booked.applied_utc == counted_at, "stamped with the live step that counted it"
    # killed again: the third day-run's strategies see the shares at minute 3, as the second's did
    third = day_run(broker, journal)
    seen = []
    for minute in range(5):
        step(third, minute, catch_up=minute < 4)
        seen.append(third.position("sma", "SPY"))
    assert seen == [0, 0, 0, 10, 10] and len(third.fills()) == 1


def test_a_resume_after_the_pre_close_flatten_time_flattens_at_its_first_live_step() -> None:
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    first = day_run(broker, journal, flatten_minutes=10)
    step(first, 0)
    first.submit("sma", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=1))
    # killed; restarted at close − 5: the fill came in its catch-up, after the flatten's time
    second = day_run(broker, journal, flatten_minutes=10)
    for minute in range(385):
        step(second, minute, catch_up=True)
    assert [o.client_order_id for o in broker.orders()][1:] == [], "nothing sent during the catch-up"
    step(second, 385)
    [flatten] = broker.orders()[1:]
    assert (flatten.request.side, flatten.request.quantity, flatten.client_order_id[-5:]) == (Side.SELL, 10, "c0001")
    step(second, 386)
    assert second.positions() == {} and broker.positions() == []


def test_a_pre_close_flatten_after_an_operators_flatten_is_sent_after_a_restart() -> None:
    # the operator's flatten took c0001 for these shares; the replay does not repeat it, so the
    # pre-close flatten of the same shares asks for c0001 again: alike, but a new order
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    first = day_run(broker, journal, flatten_minutes=10)
    step(first, 0)
    first.submit("sma", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=1))
    step(first, 1)
    [operator_flatten] = first.flatten(T0 + timedelta(minutes=2))
    step(first, 2)
    first.submit("sma", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=3))
    step(first, 3)
    assert first.positions() == {"SPY": 10}
    second = day_run(broker, journal, flatten_minutes=10)  # killed; restarted before close − 10
    step(second, 0, catch_up=True)
    second.submit("sma", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=1))
    for minute in range(1, 3):
        step(second, minute, catch_up=True)
    second.submit("sma", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=3))
    for minute in range(3, 380):
        step(second, minute, catch_up=minute < 100)
    flattens = [o for o in broker.orders() if o.client_order_id.endswith(("c0001", "c0002"))]
    assert [o.client_order_id[-5:] for o in flattens] == ["c0001", "c0002"], "the pre-close flatten was sent"
    assert flattens[0].client_order_id == operator_flatten.client_order_id
    step(second, 380)
    assert second.positions() == {} and broker.positions() == []


def test_a_resumed_day_run_keeps_the_earlier_runs_flatten_order_working() -> None:
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    first = day_run(broker, journal, flatten_minutes=10)
    step(first, 0)
    first.submit("sma", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=1))
    for minute in range(1, 380):
        step(first, minute)
    [flatten] = broker.open_orders()  # sent at close − 10; killed before it filled
    second = day_run(broker, journal, flatten_minutes=10)
    for minute in range(379):
        step(second, minute, catch_up=True)
    step(second, 379)  # the flatten's time again, live: the working flatten covers the position
    assert [o.client_order_id for o in broker.open_orders()] == [flatten.client_order_id]
    assert second.cancel(flatten.client_order_id).status.is_open, "a strategy cannot cancel it either"
    step(second, 380)
    assert second.positions() == {} and broker.positions() == [] and len(broker.orders()) == 2


def test_a_resume_after_the_last_bar_closes_the_strategies_own_shares() -> None:
    broker, journal = RealAccount(initial_cash=100_000.0), MemoryOrderJournal()
    first = day_run(broker, journal)
    step(first, 0)
    first.submit("sma", "SPY", Side.BUY, 10, None, None, T0 + timedelta(minutes=1))
    # killed; restarted after the close: every step is a catch-up, the fill came in it
    second = day_run(broker, journal)
    for minute in range(390):
        step(second, minute, catch_up=True)
    second.close_session(CLOSE)
    closing = broker.orders()[1:]
    assert closing and {(o.request.strategy, o.request.side, o.request.quantity) for o in closing} == {
        ("sma", Side.SELL, 10)}, "the strategy's own shares, not (account)'s"
    assert second.strategy_positions() == {("sma", "SPY"): 10}, "counted (the close's market orders fill at the open)"
    assert [j.applied_utc for j in journal.day("20110104-").fills[:1]] == [CLOSE]


def test_shares_carried_overnight_are_the_accounts_on_the_paper_account_as_on_a_real_one() -> None:
    """The daemon's paper account opens with yesterday's shares (not journaled today): booked to
    (account) at the session start, where a real account's reconciliation books them (adopt) at
    its first live step, and closed by the day's close either way."""
    carried = [Position("SPY", 7, 99.0)]
    for broker in (PaperBroker(initial_cash=100_000.0, positions=carried),
                   RealAccount(initial_cash=100_000.0, positions=carried)):
        execution = day_run(broker, MemoryOrderJournal(), ReconcilePolicy.ADOPT)
        the_morning(execution)
        assert execution.strategy_positions() == {(ACCOUNT_OWNER, "SPY"): 7, ("sma", "SPY"): 10}, broker
        assert execution.position_mismatches() == [] and not execution.halted
        execution.close_session(T0 + timedelta(minutes=3))
        closing = {(o.request.strategy, o.request.side, o.request.quantity) for o in broker.orders()
                   if o.client_order_id.endswith("-c0001")}
        assert closing == {(ACCOUNT_OWNER, Side.SELL, 7), ("sma", Side.SELL, 10)}, broker


def test_shares_carried_overnight_get_an_opening_lot_so_the_close_ends_a_trade_not_opens_a_short() -> None:
    """The flatten's sell of carried shares closes a round trip from their average cost: the
    P&L view, trades.csv and the report's rows count it, and the rows add up to the account."""
    broker = PaperBroker(initial_cash=100_000.0, positions=[Position("SPY", 7, 99.0)])
    ids = SessionOrderIds("resume test", DAY)
    execution = ExecutionManager(broker, RiskGuard(RiskLimits()), ids=ids, journaling=OrderJournaling(
        MemoryOrderJournal(), MemoryOrderJournal().day(ids.prefix)))
    execution.begin_session(DAY, CLOSE, ["SPY"], open_utc=T0)
    ends = [step(execution, minute) for minute in range(3)]
    execution.mark(ends[-1])
    execution.close_session(ends[-1])
    [lot] = execution.carried()
    assert (lot.strategy, lot.side, lot.quantity, lot.price, lot.ts_utc) == (ACCOUNT_OWNER, Side.BUY, 7, 99.0, T0)
    fills = [*execution.carried(), *execution.fills()]
    [trade] = match_trades(fills)
    assert (trade.strategy, trade.entry_price, trade.exit_price, trade.quantity, trade.pnl) == (
        ACCOUNT_OWNER, 99.0, 100.0, 7, 7.0)
    pnl = day_pnl(fills, [], broker.positions(), {"SPY": 100.0})
    assert (pnl.total.realized, pnl.total.unrealized) == (7.0, 0.0), "the carried shares' P&L, not lost"
    [row] = strategy_symbol_rows(fills, [trade], ends, {"SPY": [100.0] * len(ends)})
    assert (row.strategy, row.figures.pnl, row.figures.exposure) == (ACCOUNT_OWNER, 7.0, 1.0), \
        "held from the open, no phantom short after the close"
    assert execution.account().equity - (100_000.0 + 7 * 99.0) == row.figures.pnl, "the rows add up to the account"


def test_a_resumed_paper_day_reads_cash_and_equity_as_of_each_replayed_bar_even_halted() -> None:
    """The paper account is rebuilt from the journal step by step, so what a strategy reads as
    `cash` and `equity` during the catch-up is the account as of that bar (a real account's
    catch-up reads the broker now: docs/strategies.md)."""
    journal = MemoryOrderJournal()
    first = day_run(PaperBroker(initial_cash=100_000.0), journal)
    live = []
    for minute in range(3):
        now = step(first, minute)
        if minute == 0:
            first.submit("sma", "SPY", Side.BUY, 10, None, None, now)
        live.append((first.account().cash, first.account().equity))
    resumed = day_run(PaperBroker(initial_cash=100_000.0), journal)  # the process died; halted since
    resumed.halt(True)
    replayed = []
    for minute in range(3):
        now = step(resumed, minute, catch_up=True)
        if minute == 0:
            assert resumed.submit("sma", "SPY", Side.BUY, 10, None, None, now).status is OrderStatus.FILLED
        replayed.append((resumed.account().cash, resumed.account().equity))
    assert replayed == live and live[0] == (100_000.0, 100_000.0) and live[1][0] == 100_000.0 - 10 * 100.0
