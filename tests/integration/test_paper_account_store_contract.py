"""One contract for the paper account store, run against the in-memory twin and the database
tables (SQLite and PostgreSQL): an account opened and reset, each day's opening kept by its first
day-run, closings saved and cleared, balances given back exactly as saved."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mismarterad.core.orders import Position
from mismarterad.core.paper_account import PaperAccountOpened, PaperAccountStore, PaperBalance, PaperDay
from mismarterad.db.engine import DbSessionFactory
from mismarterad.repositories.memory_paper_account_store import MemoryPaperAccountStore
from mismarterad.repositories.paper_account_repository import PaperAccountRepository

T0 = datetime(2011, 1, 3, 20, 0, tzinfo=UTC)
D1, D2, D3 = date(2011, 1, 3), date(2011, 1, 4), date(2011, 1, 5)
HELD = PaperBalance(987_654.321, (Position("AAPL", -3, 330.1234567), Position("SPY", 100, 127.0000001)))


@pytest.fixture(params=["memory", "database"])
def store(request: pytest.FixtureRequest, db_sessions: DbSessionFactory) -> PaperAccountStore:
    return MemoryPaperAccountStore() if request.param == "memory" else PaperAccountRepository(db_sessions)


def test_an_account_is_opened_once_and_a_reset_drops_its_days(store: PaperAccountStore) -> None:
    assert store.opened("paper") is None and store.latest_day("paper") is None
    store.open("paper", 1_000_000.0, T0)
    assert store.opened("paper") == PaperAccountOpened(1_000_000.0, T0)
    store.begin_day("paper", D1, "20110103-abcdef-", PaperBalance(1_000_000.0))
    later = datetime(2011, 1, 4, 1, 0, tzinfo=UTC)
    store.open("paper", 250_000.0, later)  # mismarterctl paper reset
    assert store.opened("paper") == PaperAccountOpened(250_000.0, later)
    assert store.day("paper", D1) is None and store.latest_day("paper") is None


def test_a_days_opening_is_its_first_day_runs_and_a_restart_clears_its_closing(store: PaperAccountStore) -> None:
    store.open("paper", 1_000_000.0, T0)
    first = store.begin_day("paper", D2, "20110104-abcdef-", HELD)
    assert first == PaperDay(D2, "20110104-abcdef-", HELD, None)
    closing = PaperBalance(1_000_100.5)
    store.close_day("paper", D2, closing)
    assert store.day("paper", D2) == PaperDay(D2, "20110104-abcdef-", HELD, closing)
    again = store.begin_day("paper", D2, "20110104-fedcba-", PaperBalance(5.0))  # a restart, another session name
    assert again == PaperDay(D2, "20110104-abcdef-", HELD, None), \
        "the first opening and id prefix stay (the day's fills are journaled under it); the closing is cleared"
    store.close_day("paper", D2, HELD)
    assert store.day("paper", D2) == PaperDay(D2, "20110104-abcdef-", HELD, HELD), "positions, prices exact"


def test_the_latest_day_is_the_newest_or_the_newest_before_a_date(store: PaperAccountStore) -> None:
    store.open("paper", 1_000_000.0, T0)
    for day, cash in ((D1, 1.0), (D3, 3.0), (D2, 2.0)):
        store.begin_day("paper", day, f"{day:%Y%m%d}-abcdef-", PaperBalance(cash))
    latest = store.latest_day("paper")
    assert latest is not None and latest.day == D3
    before = store.latest_day("paper", before=D3)
    assert before is not None and (before.day, before.opening.cash) == (D2, 2.0)
    assert store.latest_day("paper", before=D1) is None
    assert store.latest_day("alpaca-paper") is None, "accounts are kept apart"


def test_balances_come_back_by_symbol_without_zero_positions(store: PaperAccountStore) -> None:
    store.open("paper", 1_000_000.0, T0)
    given = PaperBalance(10.0, (Position("SPY", 5, 1.5), Position("QQQ", 0, 0.0), Position("AAPL", 2, 3.0)))
    stored = store.begin_day("paper", D1, "p-", given)
    assert stored.opening == PaperBalance(10.0, (Position("AAPL", 2, 3.0), Position("SPY", 5, 1.5)))
    store.close_day("paper", D1, PaperBalance(11.0, (Position("SPY", 0, 0.0),)))
    day = store.day("paper", D1)
    assert day is not None and day.closing == PaperBalance(11.0)


def test_closing_a_day_dropped_by_a_reset_changes_nothing(store: PaperAccountStore) -> None:
    store.open("paper", 1_000_000.0, T0)
    store.begin_day("paper", D1, "p-", PaperBalance(1_000_000.0))
    store.open("paper", 500.0, T0)
    store.close_day("paper", D1, PaperBalance(1.0))
    assert store.day("paper", D1) is None and store.latest_day("paper") is None
