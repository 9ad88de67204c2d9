"""The emulator's calendar: sessions, the cls cut-off and what an order arriving works against."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from mismarterad.integrations.venue_emulator.sessions import Sessions

NY = ZoneInfo("America/New_York")
sessions = Sessions()


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def test_cls_cutoff_is_ten_minutes_before_the_close_on_early_close_days_too() -> None:
    assert not sessions.phase(at(2011, 1, 4, 15, 49)).cls_cutoff_passed
    assert sessions.phase(at(2011, 1, 4, 15, 50)).cls_cutoff_passed
    assert sessions.session(date(2010, 11, 26)).is_early_close
    assert sessions.phase(at(2010, 11, 26, 12, 50)).cls_cutoff_passed


def test_orders_outside_hours_work_in_the_next_session() -> None:
    friday_night = sessions.phase(at(2011, 1, 7, 18, 0))
    assert (friday_night.is_open, friday_night.session_day) == (False, date(2011, 1, 10))
    before_open = sessions.phase(at(2011, 1, 4, 9, 29))
    assert (before_open.is_open, before_open.session_day) == (False, date(2011, 1, 4))
    assert sessions.session(date(2010, 11, 25)) is None  # Thanksgiving


def test_last_closed_session() -> None:
    assert sessions.last_closed(at(2011, 1, 10, 9, 0)).day == date(2011, 1, 7)
    assert sessions.last_closed(at(2011, 1, 4, 16, 0)).day == date(2011, 1, 4)
