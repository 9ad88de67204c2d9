"""Market-time text of a run's instants, made over columns, equals datetime's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.runs.report_clock import first_offsets_of_utc_dates, iso_local, local_offsets
from mismarterad.services.bar_columns import to_datetime, to_us

NY = ZoneInfo("America/New_York")
INSTANTS = st.lists(st.datetimes(datetime(2011, 3, 12), datetime(2011, 11, 8), timezones=st.just(UTC)),
                    min_size=1, max_size=40).map(sorted)


@settings(max_examples=100, deadline=None)
@given(instants=INSTANTS, whole_seconds=st.booleans())
def test_offsets_and_text_equal_astimezone(instants: list[datetime], whole_seconds: bool) -> None:
    if whole_seconds:
        instants = [t.replace(microsecond=0) for t in instants]
    us = np.array([to_us(t) for t in instants], dtype=np.int64)
    offsets = local_offsets(us, NY)
    assert [timedelta(microseconds=int(o)) for o in offsets] == [t.astimezone(NY).utcoffset() for t in instants]
    assert iso_local(us, offsets) == [t.astimezone(NY).isoformat() for t in instants]
    firsts = first_offsets_of_utc_dates(us, NY)
    first_of_date: dict[object, timedelta] = {}
    for t in instants:
        first_of_date.setdefault(t.date(), t.astimezone(NY).utcoffset())  # type: ignore[arg-type]
    expected = [(t + first_of_date[t.date()]).replace(tzinfo=timezone(first_of_date[t.date()])).isoformat()
                for t in instants]
    assert iso_local(us, firsts) == expected
    assert to_datetime(int(us[0])) == instants[0]
