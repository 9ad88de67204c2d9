"""TimeManager against the real calendar stored in SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from mismarterad.core.calendar import MarketSession
from mismarterad.core.clock import SimClock
from mismarterad.core.errors import StateError
from mismarterad.integrations.exchange_calendar import ExchangeCalendarSource
from mismarterad.managers.time_manager import TimeManager

NY = ZoneInfo("America/New_York")


def ny(y: int, m: int, d: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=NY)


@pytest.mark.parametrize(
    ("day", "open_utc_hour"),
    [
        (date(2024, 3, 8), 14),  # Friday before the spring change: EST, 09:30 = 14:30 UTC
        (date(2024, 3, 11), 13),  # Monday after: EDT, 09:30 = 13:30 UTC
        (date(2024, 11, 1), 13),  # Friday before the autumn change: EDT
        (date(2024, 11, 4), 14),  # Monday after: EST
    ],
)
def test_regular_open_is_0930_new_york_across_dst_changes(time_manager: TimeManager, day: date, open_utc_hour: int) -> None:
    s = time_manager.get_trading_session(day)
    assert s.regular_open == ny(day.year, day.month, day.day, 9, 30)
    assert s.regular_open.astimezone(UTC).hour == open_utc_hour
    assert s.regular_open.astimezone(UTC).minute == 30


def test_dst_change_days_themselves_are_sundays_and_closed(time_manager: TimeManager) -> None:
    for day in (date(2024, 3, 10), date(2024, 11, 3)):
        assert not time_manager.is_trading_day(day)
        assert time_manager.is_holiday(day) == (False, None)


def test_good_friday_is_a_holiday(time_manager: TimeManager) -> None:
    assert time_manager.is_holiday(date(2024, 3, 29)) == (True, "Good Friday")
    assert not time_manager.is_trading_day(date(2024, 3, 29))
    assert time_manager.get_next_trading_date(date(2024, 3, 28)) == date(2024, 4, 1)


@pytest.mark.parametrize(("year", "closed"), [(2021, False), (2022, True), (2023, True), (2024, True)])
def test_juneteenth_is_observed_from_2022_only(time_manager: TimeManager, year: int, closed: bool) -> None:
    # 2022-06-19 was a Sunday, observed Monday 2022-06-20; 2021-06-18 (Friday) traded
    day = {2021: date(2021, 6, 18), 2022: date(2022, 6, 20), 2023: date(2023, 6, 19), 2024: date(2024, 6, 19)}[year]
    assert time_manager.is_trading_day(day) is not closed
    if closed:
        holiday, name = time_manager.is_holiday(day)
        assert holiday and "Juneteenth" in (name or "")


@pytest.mark.parametrize(
    "day",
    [date(2024, 7, 3), date(2024, 11, 29), date(2024, 12, 24), date(2025, 7, 3), date(2020, 11, 27)],
)
def test_early_closes_end_at_1300(time_manager: TimeManager, day: date) -> None:
    s = time_manager.get_trading_session(day)
    assert s.is_trading_day and s.is_early_close
    assert s.regular_close == ny(day.year, day.month, day.day, 13, 0)
    assert time_manager.is_early_close(day) == (True, time(13, 0))
    assert s.post_market_close == ny(day.year, day.month, day.day, 17, 0)


def test_normal_day_is_not_an_early_close(time_manager: TimeManager) -> None:
    assert time_manager.is_early_close(date(2024, 7, 2)) == (False, None)


@pytest.mark.parametrize(
    ("day", "word"),
    [
        (date(2012, 10, 29), "Sandy"),
        (date(2012, 10, 30), "Sandy"),
        (date(2018, 12, 5), "Bush"),
        (date(2025, 1, 9), "Carter"),
    ],
)
def test_unscheduled_closures_are_closed_with_a_name(time_manager: TimeManager, day: date, word: str) -> None:
    assert not time_manager.is_trading_day(day)
    holiday, name = time_manager.is_holiday(day)
    assert holiday and word in (name or "")
    assert time_manager.get_market_session(datetime.combine(day, time(10, 0), tzinfo=NY)) is MarketSession.CLOSED


@pytest.mark.parametrize(
    ("day", "next_day", "previous_day"),
    [
        (date(2024, 5, 24), date(2024, 5, 28), date(2024, 5, 23)),  # Memorial Day weekend
        (date(2024, 8, 30), date(2024, 9, 3), date(2024, 8, 29)),  # Labor Day weekend
        (date(2012, 10, 26), date(2012, 10, 31), date(2012, 10, 25)),  # Sandy: Mon+Tue closed
        (date(2024, 12, 31), date(2025, 1, 2), date(2024, 12, 30)),  # across the year end
    ],
)
def test_next_and_previous_trading_day_over_long_weekends(
    time_manager: TimeManager, day: date, next_day: date, previous_day: date
) -> None:
    assert time_manager.get_next_trading_date(day) == next_day
    assert time_manager.get_previous_trading_date(next_day) == day
    assert time_manager.get_previous_trading_date(day) == previous_day


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (ny(2024, 7, 2, 3, 59, 59), MarketSession.CLOSED),
        (ny(2024, 7, 2, 4, 0, 0), MarketSession.PRE_MARKET),
        (ny(2024, 7, 2, 9, 29, 59), MarketSession.PRE_MARKET),
        (ny(2024, 7, 2, 9, 30, 0), MarketSession.REGULAR),
        (ny(2024, 7, 2, 15, 59, 59), MarketSession.REGULAR),
        (ny(2024, 7, 2, 16, 0, 0), MarketSession.POST_MARKET),
        (ny(2024, 7, 2, 19, 59, 59), MarketSession.POST_MARKET),
        (ny(2024, 7, 2, 20, 0, 0), MarketSession.CLOSED),
        (ny(2024, 7, 3, 12, 59, 59), MarketSession.REGULAR),  # early-close day
        (ny(2024, 7, 3, 13, 0, 0), MarketSession.POST_MARKET),
        (ny(2024, 7, 3, 17, 0, 0), MarketSession.CLOSED),
        (ny(2024, 7, 6, 10, 0, 0), MarketSession.CLOSED),  # Saturday
    ],
)
def test_get_market_session_boundaries(time_manager: TimeManager, t: datetime, expected: MarketSession) -> None:
    assert time_manager.get_market_session(t) is expected
    assert time_manager.get_market_session(t.astimezone(UTC)) is expected
    assert time_manager.is_market_open(t) is (expected is MarketSession.REGULAR)


def test_count_trading_days_includes_both_ends(time_manager: TimeManager) -> None:
    assert time_manager.count_trading_days(date(2024, 7, 1), date(2024, 7, 5)) == 4  # July 4th closed
    assert time_manager.count_trading_days(date(2024, 7, 5), date(2024, 7, 5)) == 1
    assert time_manager.count_trading_days(date(2024, 7, 6), date(2024, 7, 5)) == 0
    assert time_manager.count_trading_days(date(2023, 1, 1), date(2023, 12, 31)) == 250


def test_lookups_are_cached_after_the_first_year_load(time_manager: TimeManager, engine) -> None:  # type: ignore[no-untyped-def]
    time_manager.get_trading_session(date(2019, 1, 2))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for day in range(1, 29):
        time_manager.get_trading_session(date(2019, 2, day))
        time_manager.get_market_session(ny(2019, 2, day, 10, 0))
    assert statements == []


def test_first_use_of_an_unsynced_range_syncs_it(time_manager: TimeManager, calendar_repository) -> None:  # type: ignore[no-untyped-def]
    assert calendar_repository.count_days("US_EQUITY", date(2016, 1, 1), date(2016, 12, 31)) == 0
    assert time_manager.is_trading_day(date(2016, 6, 1))
    assert calendar_repository.count_days("US_EQUITY", date(2016, 1, 1), date(2016, 12, 31)) == 366


def test_explicit_sync_replaces_stored_days_idempotently(time_manager: TimeManager, calendar_repository) -> None:  # type: ignore[no-untyped-def]
    assert time_manager.sync(date(2024, 1, 1), date(2024, 1, 31)) == 31
    assert time_manager.sync(date(2024, 1, 1), date(2024, 1, 31)) == 31
    assert calendar_repository.count_days("US_EQUITY", date(2024, 1, 1), date(2024, 1, 31)) == 31


def test_times_are_returned_in_market_time_zone(time_manager: TimeManager) -> None:
    s = time_manager.get_trading_session(date(2024, 7, 2))
    assert s.timezone == "America/New_York"
    assert s.regular_open is not None and s.regular_open.tzinfo is not None
    assert s.regular_open.utcoffset() == ny(2024, 7, 2, 9, 30).utcoffset()
    assert time_manager.get_current_time().tzinfo == NY


def test_backtest_time_control_moves_between_regular_opens(calendar_repository) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(datetime(2024, 1, 1, tzinfo=UTC))
    tm = TimeManager(clock, calendar_repository, ExchangeCalendarSource())
    assert tm.mode == "backtest"
    assert tm.init_backtest(date(2024, 3, 29)) == date(2024, 4, 1)  # Good Friday -> Monday
    assert tm.get_current_time() == ny(2024, 4, 1, 9, 30)
    tm.set_backtest_time(ny(2024, 4, 1, 15, 59))
    assert tm.get_current_time() == ny(2024, 4, 1, 15, 59)
    assert tm.advance_to_market_open() == date(2024, 4, 2)
    assert tm.get_current_time() == ny(2024, 4, 2, 9, 30)
    with pytest.raises(ValueError, match="cannot go back"):
        tm.set_backtest_time(ny(2024, 4, 1, 10, 0))


def test_backtest_time_control_is_refused_in_live_mode(time_manager: TimeManager) -> None:
    assert time_manager.mode == "live"
    with pytest.raises(StateError, match="simulated clock"):
        time_manager.set_backtest_time(ny(2024, 4, 1, 10, 0))
