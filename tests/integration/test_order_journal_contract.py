"""One contract for the order journal, run against the in-memory twin and the database journal
(SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mismarterad.core.journal import OrderJournal
from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus, OrderType, Side
from mismarterad.repositories.memory_order_journal import MemoryOrderJournal
from mismarterad.repositories.order_journal import SqlOrderJournal
from mismarterad.repositories.run_repository import RunRepository

T0 = datetime(2011, 1, 4, 14, 31, tzinfo=UTC)
DAY = "20110104-abcdef-"


@pytest.fixture(params=["memory", "database"])
def journal_factory(request: pytest.FixtureRequest, db_sessions):  # type: ignore[no-untyped-def]
    """Journals of one account, one per (re)started day-run. (The memory twin runs beside each
    database kind too: one fixture graph for both.)"""
    if request.param == "memory":
        shared = MemoryOrderJournal()
        return lambda account="alpaca": shared
    runs = RunRepository(db_sessions)

    def make(account: str = "alpaca") -> OrderJournal:
        return SqlOrderJournal(db_sessions, account, runs.start("live", "s", "0" * 64, T0))
    return make


def intent(n: int, prefix: str = DAY) -> Order:
    request = OrderRequest(f"{prefix}sma-SPY-o{n:04d}", "SPY", Side.BUY, 10, OrderType.MARKET, None, None,
                           T0 + timedelta(minutes=n), "sma")
    return Order(request, OrderStatus.INTENT)


def fill(order: Order, execution_id: str, quantity: int = 10) -> Fill:
    return Fill(order.client_order_id, "SPY", Side.BUY, quantity, 100.0, 0.0, T0, "sma", execution_id)


def test_an_intent_is_readable_by_a_later_run_and_advances_in_place(journal_factory) -> None:  # type: ignore[no-untyped-def]
    first = journal_factory()
    order = intent(1)
    first.record([order])
    second = journal_factory()  # a restarted day-run
    assert second.day(DAY).orders == (order,)
    accepted = replace(order, status=OrderStatus.ACCEPTED)
    filled = replace(order, status=OrderStatus.FILLED, filled_quantity=10, avg_fill_price=100.0, filled_utc=T0)
    second.record([accepted, filled, accepted])  # a late "accepted" never moves it back
    assert [o.status for o in journal_factory().day(DAY).orders] == [OrderStatus.FILLED]


def test_fills_are_booked_once_per_execution(journal_factory) -> None:  # type: ignore[no-untyped-def]
    journal = journal_factory()
    order = intent(1)
    journal.record([order])
    assert journal.record_fills([fill(order, "e1", 4), fill(order, "e1", 4)], T0) == [fill(order, "e1", 4)]
    again = journal_factory()
    assert again.record_fills([fill(order, "e1", 4), fill(order, "e2", 6)], T0) == [fill(order, "e2", 6)]
    booked = again.day(DAY).fills
    assert [(f.fill.execution_id, f.fill.quantity, f.applied_utc) for f in booked] == [("e1", 4, T0), ("e2", 6, T0)]


def test_fills_booked_in_a_catch_up_get_the_step_that_counted_them(journal_factory) -> None:  # type: ignore[no-untyped-def]
    journal = journal_factory()
    order = intent(1)
    journal.record([order])
    later = T0 + timedelta(minutes=5)
    journal.record_fills([fill(order, "e1", 4)], T0)
    journal.record_fills([fill(order, "e2", 6)], None)  # booked during a catch-up
    journal.mark_applied([fill(order, "e1", 4), fill(order, "e2", 6), fill(order, "e9", 1)], later)
    booked = journal_factory().day(DAY).fills
    assert [(f.fill.execution_id, f.applied_utc) for f in booked] == [("e1", T0), ("e2", later)]


def test_a_day_is_read_by_its_prefix_only_and_known_spans_days(journal_factory) -> None:  # type: ignore[no-untyped-def]
    journal = journal_factory()
    today, yesterday = intent(1), intent(1, prefix="20110103-abcdef-")
    journal.record([yesterday, today])
    assert journal.day(DAY).orders == (today,)
    assert journal.day("20110104-abcdeF_").orders == ()  # `_` is no wildcard
    assert journal.known([today.client_order_id, yesterday.client_order_id, "x"]) == {
        today.client_order_id, yesterday.client_order_id}


def test_accounts_are_apart(db_sessions) -> None:  # type: ignore[no-untyped-def]
    runs = RunRepository(db_sessions)
    alpaca = SqlOrderJournal(db_sessions, "alpaca", runs.start("live", "s", "0" * 64, T0))
    paper = SqlOrderJournal(db_sessions, "paper", runs.start("live", "s", "0" * 64, T0))
    alpaca.record([intent(1)])
    paper.record([intent(1)])  # the same id in another account is another order
    assert len(alpaca.day(DAY).orders) == len(paper.day(DAY).orders) == 1


_STATUSES = [OrderStatus.INTENT, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.FILLED]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(4)))
def test_reports_in_any_order_end_filled(journal_factory, order_of) -> None:  # type: ignore[no-untyped-def]
    journal = journal_factory()
    base = intent(int("".join(map(str, order_of))) % 9000 + 1)  # a fresh id per example
    reports = [replace(base, status=s, filled_quantity=10 if s is OrderStatus.FILLED else 0,
                       avg_fill_price=100.0 if s is OrderStatus.FILLED else None) for s in _STATUSES]
    for i in order_of:
        journal.record([reports[i]])
    stored = [o for o in journal.day(DAY).orders if o.client_order_id == base.client_order_id]
    assert [o.status for o in stored] == [OrderStatus.FILLED]
