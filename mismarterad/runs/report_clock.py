"""Step instants in market time for the report files, a whole run's columns at once.

Reports print instants in the exchange's time zone. A run is about 98,000 steps a year: their
UTC offsets are found per UTC hour (a zone's offset changes at most once in an hour, and is then
found per instant), and their ISO 8601 text is made by numpy, the same text
`datetime.isoformat()` gives.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

from mismarterad.services.bar_columns import to_datetime

__all__ = ["first_offsets_of_utc_dates", "iso_local", "local_offsets", "local_wall_us"]

_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 86_400_000_000


def _offset_us(us: int, tz: ZoneInfo) -> int:
    offset = to_datetime(us).astimezone(tz).utcoffset() or timedelta(0)
    return (offset.days * 86_400 + offset.seconds) * 1_000_000 + offset.microseconds


def local_offsets(ts_us: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """Each instant's own UTC offset in `tz`, in microseconds."""
    hours, inverse = np.unique(ts_us // _US_PER_HOUR, return_inverse=True)
    firsts = [_offset_us(hour * _US_PER_HOUR, tz) for hour in hours.tolist()]
    lasts = [_offset_us((hour + 1) * _US_PER_HOUR - 1, tz) for hour in hours.tolist()]
    out = np.array(firsts, dtype=np.int64)[inverse]
    for k in np.flatnonzero(np.array(firsts) != np.array(lasts)).tolist():  # the offset changes within the hour
        at = inverse == k
        out[at] = [_offset_us(us, tz) for us in ts_us[at].tolist()]
    return out


def first_offsets_of_utc_dates(ts_us: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """For each instant, the UTC offset of the first instant of its UTC date (equity.csv's rule:
    the offset is fixed within a session)."""
    days = ts_us // _US_PER_DAY
    unique, first = np.unique(days, return_index=True)
    offsets = np.array([_offset_us(int(ts_us[i]), tz) for i in first.tolist()], dtype=np.int64)
    return offsets[np.searchsorted(unique, days)]


def local_wall_us(ts_us: np.ndarray, offsets_us: np.ndarray) -> np.ndarray:
    """The wall-clock time of each instant (UTC microseconds shifted by its offset)."""
    return ts_us + offsets_us


def iso_local(ts_us: np.ndarray, offsets_us: np.ndarray) -> list[str]:
    """`(instant in the zone of that offset).isoformat()` of each instant."""
    wall = local_wall_us(ts_us, offsets_us)
    suffix = {int(o): datetime(2000, 1, 1, tzinfo=timezone(timedelta(microseconds=int(o)))).isoformat()[19:]
              for o in np.unique(offsets_us).tolist()}
    if len(wall) and np.all(wall % 1_000_000 == 0):
        text = np.datetime_as_string(wall.astype("datetime64[us]"), unit="s").tolist()
        return [t + suffix[o] for t, o in zip(text, offsets_us.tolist(), strict=True)]
    return [(to_datetime(int(w)).replace(tzinfo=timezone(timedelta(microseconds=int(o))))).isoformat()
            for w, o in zip(wall.tolist(), offsets_us.tolist(), strict=True)]
