"""The daemon's paper account across days, on the store's and the journal's in-memory twins: a day
opens where the day before ended (its closing, else its opening plus its journaled fills), a
restart opens the day as its first day-run did, and a reset starts over."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from structlog.testing import capture_logs

from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus, OrderType, Position, Side
from mismarterad.core.paper_account import PaperBalance
from mismarterad.repositories.memory_order_journal import MemoryOrderJournal
from mismarterad.repositories.memory_paper_account_store import MemoryPaperAccountStore
from mismarterad.runs.paper_account import PaperAccount

NOW = datetime(2011, 1, 4, 13, 50, tzinfo=UTC)
D1, D2, D3 = date(2011, 1, 4), date(2011, 1, 5), date(2011, 1, 6)
P1, P2, P3 = "20110104-abcdef-", "20110105-abcdef-", "20110106-abcdef-"


def journal_fill(journal: MemoryOrderJournal, prefix: str, n: int, side: Side, quantity: int, price: float) -> Fill:
    request = OrderRequest(f"{prefix}s-SPY-o{n:04d}", "SPY", side, quantity, OrderType.MARKET, None, None, NOW, "s")
    journal.record([Order(request, OrderStatus.FILLED, quantity, price)])
    fill = Fill(request.client_order_id, "SPY", side, quantity, price, 1.0, NOW, "s", "p1")
    journal.record_fills([fill], NOW)
    return fill


def account(store: MemoryPaperAccountStore | None = None, journal: MemoryOrderJournal | None = None,
            starting_cash: float = 100_000.0) -> PaperAccount:
    journal = journal or MemoryOrderJournal()
    return PaperAccount(store or MemoryPaperAccountStore(), journal.day, starting_cash)


def test_a_new_account_opens_at_the_starting_cash_and_is_stored() -> None:
    store = MemoryPaperAccountStore()
    paper = account(store)
    assert paper.balance() == PaperBalance(100_000.0), "before its first day: the cash it will open with"
    assert paper.open_day(D1, P1, NOW).opening == PaperBalance(100_000.0)
    opened = store.opened("paper")
    assert opened is not None and (opened.starting_cash, opened.opened_utc) == (100_000.0, NOW)


def test_the_next_day_opens_at_the_closing_a_whole_day_run_saved() -> None:
    paper = account()
    paper.open_day(D1, P1, NOW)
    carried = PaperBalance(88_000.0, (Position("SPY", 100, 120.0),))
    paper.close_day(D1, carried)
    assert paper.balance() == carried
    assert paper.open_day(D2, P2, NOW).opening == carried


def test_a_day_killed_before_its_closing_ends_at_its_opening_plus_its_journaled_fills() -> None:
    journal = MemoryOrderJournal()
    paper = account(journal=journal)
    paper.open_day(D1, P1, NOW)
    bought = journal_fill(journal, P1, 1, Side.BUY, 100, 120.0)
    sold = journal_fill(journal, P1, 2, Side.SELL, 40, 125.0)
    journal_fill(journal, P2, 1, Side.BUY, 7, 1.0)  # another day's: not this day's end
    paper.close_day(D1, None)  # stopped while replaying, or never stopped at all (killed)
    expected = PaperBalance(100_000.0).after(bought).after(sold)
    assert expected == PaperBalance(100_000.0 - 12_001.0 + 4_999.0, (Position("SPY", 60, 120.0),))
    assert paper.balance() == expected
    assert paper.open_day(D2, P2, NOW).opening == expected


def test_a_restart_opens_the_day_as_its_first_day_run_did() -> None:
    journal = MemoryOrderJournal()
    paper = account(journal=journal)
    paper.open_day(D1, P1, NOW)
    paper.close_day(D1, PaperBalance(90_000.0))
    opening = paper.open_day(D2, P2, NOW).opening
    journal_fill(journal, P2, 1, Side.BUY, 10, 50.0)  # traded, then killed: a new day-run of D2
    assert paper.open_day(D2, P2, NOW).opening == opening == PaperBalance(90_000.0)
    paper.close_day(D2, PaperBalance(1.0))
    assert paper.open_day(D3, P3, NOW).opening == PaperBalance(1.0)


def test_a_closing_saved_once_is_not_the_days_end_after_a_later_day_run_of_it_starts() -> None:
    journal = MemoryOrderJournal()
    paper = account(journal=journal)
    paper.open_day(D1, P1, NOW)
    paper.close_day(D1, PaperBalance(5.0))  # stopped by hand at noon
    paper.open_day(D1, P1, NOW)  # started again the same day, then killed
    fill = journal_fill(journal, P1, 1, Side.BUY, 10, 50.0)
    assert paper.balance() == PaperBalance(100_000.0).after(fill)


def test_a_session_renamed_mid_day_keeps_the_days_first_prefix_and_its_morning() -> None:
    journal = MemoryOrderJournal()
    paper = account(journal=journal)
    assert paper.open_day(D1, P1, NOW).id_prefix == P1
    bought = journal_fill(journal, P1, 1, Side.BUY, 10, 50.0)  # the morning, then session_name edited and a restart
    with capture_logs() as logs:
        renamed = paper.open_day(D1, "20110104-fedcba-", NOW)
    assert renamed.id_prefix == P1, "the restart's orders are named, and resumed, under the day's first prefix"
    [kept] = [e for e in logs if e["event"] == "paper_day_prefix_kept"]
    assert (kept["log_level"], kept["id_prefix"], kept["session_prefix"]) == ("warning", P1, "20110104-fedcba-")
    assert paper.balance() == PaperBalance(100_000.0).after(bought), "the morning's fill stays the account's"


def test_a_reset_starts_over_at_the_cash_given_and_is_logged_with_who_asked() -> None:
    store = MemoryPaperAccountStore()
    paper = account(store)
    paper.open_day(D1, P1, NOW)
    paper.close_day(D1, PaperBalance(7.0, (Position("SPY", 3, 2.0),)))
    with capture_logs() as logs:
        assert paper.reset(250_000.0, NOW, "uid 1000 (trader)") == PaperBalance(250_000.0)
    [event] = [e for e in logs if e["event"] == "paper_account_reset"]
    assert (event["log_level"], event["by"], event["cash"], event["previous_cash"], event["previous_positions"]) == (
        "info", "uid 1000 (trader)", 250_000.0, 7.0, {"SPY": 3})
    assert store.latest_day("paper") is None and paper.balance() == PaperBalance(250_000.0)
    assert paper.open_day(D2, P2, NOW).opening == PaperBalance(250_000.0)
    assert account(store).balance() == PaperBalance(250_000.0), "a daemon started later reads the reset"


class BrokenStore(MemoryPaperAccountStore):
    def latest_day(self, account: str, before: date | None = None):  # type: ignore[no-untyped-def]
        raise OSError("database is locked")


def test_an_unreadable_store_shows_no_balance_and_is_logged_once() -> None:
    paper = account(BrokenStore())
    with capture_logs() as logs:
        assert paper.balance() is None and paper.balance() is None
    assert [e["event"] for e in logs] == ["paper_account_unreadable"]
    with pytest.raises(OSError):
        paper.reset(1.0, NOW, "me")
