"""Imports bound future timestamps by the TimeManager's clock, never by the machine's."""

from __future__ import annotations

from datetime import UTC, datetime

from mismarterad.core.clock import SimClock
from mismarterad.integrations.exchange_calendar import ExchangeCalendarSource
from mismarterad.managers.data_manager import DataManager
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.calendar_repository import CalendarRepository
from mismarterad.repositories.memory_bar_store import MemoryBarStore
from mismarterad.repositories.memory_event_store import MemoryEventStore


def test_the_future_bound_follows_the_time_managers_clock(calendar_repository: CalendarRepository,
                                                           tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(datetime(2011, 1, 4, 15, 0, tzinfo=UTC))  # "today" is 2011-01-04 for this manager
    dm = DataManager(MemoryBarStore(), TimeManager(clock, calendar_repository, ExchangeCalendarSource()),
                     MemoryEventStore())
    csv = tmp_path / "spy.csv"
    csv.write_text("timestamp,open,high,low,close,volume\n"
                   "2011-01-05T14:30:00+00:00,1,1,1,1,1\n"  # tomorrow: allowed
                   "2011-01-07T14:30:00+00:00,1,1,1,1,1\n")  # later: a typo, or a bar from the future
    report = dm.import_file(csv, "SPY", "1m", skip_bad_rows=True)
    assert [p.line for p in report.problems] == [3]
    assert report.written is not None and report.written.inserted == 1
