"""Turn raw imported rows into Bars plus a list of per-row problems; no file I/O.

The DataManager reads a CSV (values are strings) or Parquet file (floats, ints, datetimes)
and passes `(line, row)` pairs here; the line is the physical line (header = line 1, so the
first data row is line 2; for Parquet, row index + 2). Every bad row is reported, not just the
first, so an operator can fix a file in one pass.

Timestamps: an explicit UTC offset wins; a naive timestamp is read in `timezone`, and without
one it is a problem. The interval grid (whole minutes, minutes since midnight a multiple of N,
midnight for 1d) is checked in `timezone` when given, else in the timestamp's own offset, so
pass the market time zone when importing UTC-stamped hourly or daily files. `timezone` must be
a `zoneinfo.ZoneInfo` or fixed offset (pytz zones do not localize with `replace`).

Beyond the obvious (parsable, finite, high >= low, open/close within [low, high], whole
non-negative volume), a low <= 0 is rejected: no US equity trades at or below zero.

Sane ranges, so that one typo cannot poison the store (a year 9999 bar once made every read of
the series fail): a bar starts from `EARLIEST_START` (1990-01-01 UTC) to the end of the UTC day
after `today` (from the caller's clock; this module reads no clock);
every price is below `MAX_PRICE` (1e7) and volume below `MAX_VOLUME` (1e13). Rows outside are
rejected with their line like any other bad row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from mismarterad.core.errors import DataError
from mismarterad.core.intervals import Interval
from mismarterad.core.market_data import Bar

__all__ = [
    "EARLIEST_START",
    "MAX_PRICE",
    "MAX_VOLUME",
    "REQUIRED_COLUMNS",
    "ImportCheck",
    "MissingColumnsError",
    "RowProblem",
    "format_problems",
    "parse_rows",
    "require_columns",
]

REQUIRED_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
EARLIEST_START = datetime(1990, 1, 1, tzinfo=UTC)
MAX_PRICE = 1e7  # exclusive; Berkshire A trades below 1e6
MAX_VOLUME = 10**13  # exclusive; far above any day's volume, far below int64's limit

RawValue = str | float | int | datetime | date | None


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one input line was rejected."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportCheck:
    """Good bars (sorted by time, exact duplicates kept once) and problems (sorted by line)."""

    bars: tuple[Bar, ...]
    problems: tuple[RowProblem, ...]
    duplicates_dropped: int = 0


class MissingColumnsError(DataError):
    """The file lacks required columns: nothing in it can be imported."""

    def __init__(self, missing: Sequence[str], found: Sequence[str]) -> None:
        super().__init__(
            f"missing required column(s) {', '.join(missing)}; "
            f"found: {', '.join(found) or 'no columns'}"
        )
        self.missing, self.found = tuple(missing), tuple(found)


class _Bad(Exception):
    """A row-level rejection; caught in parse_rows and turned into a RowProblem."""


def require_columns(columns: Iterable[str]) -> None:
    """Raise MissingColumnsError unless every required column is present.

    Names match exactly after stripping spaces and a byte-order mark; extra columns are ignored.
    Call it on the header even when the file has no data rows.
    """
    found = [str(c) for c in columns]
    names = {_column_name(c) for c in found}
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise MissingColumnsError(missing, found)


def parse_rows(
    rows: Iterable[tuple[int, Mapping[str, RawValue]]],
    symbol: str,
    interval: Interval,
    timezone: tzinfo | None,
    today: date,
) -> ImportCheck:
    """Validate every row; return the good bars and one problem per bad line.

    `today` (UTC date, from the caller's clock: this module reads none) bounds the timestamps
    from above: a bar may start no later than the UTC day after it.

    The columns are taken from the first row's keys (raise MissingColumnsError if any required
    one is absent). The same timestamp on two lines with identical values is kept once; with
    different values both lines are rejected, each naming the other, since neither can be trusted.
    """
    latest = today + timedelta(days=1)
    limit = datetime(latest.year, latest.month, latest.day, tzinfo=UTC) + timedelta(days=1)
    keys: dict[str, str] | None = None
    problems: dict[int, str] = {}
    by_start: dict[datetime, list[tuple[int, Bar, str]]] = {}
    for line, row in rows:
        if keys is None:
            require_columns(row.keys())
            keys = {_column_name(k): k for k in row}
        values = [row.get(keys[c]) for c in REQUIRED_COLUMNS]
        try:
            start_utc, raw_ts = _timestamp(values[0], interval, timezone)
            if not EARLIEST_START <= start_utc < limit:
                raise _Bad(f"timestamp {raw_ts!r} is outside {EARLIEST_START.date()} .. {latest} (UTC)")
            bar = _bar(symbol, interval, start_utc, values[1:])
        except _Bad as bad:
            problems[line] = str(bad)
            continue
        by_start.setdefault(start_utc, []).append((line, bar, raw_ts))

    bars: list[Bar] = []
    dropped = 0
    for start_utc in sorted(by_start):
        group = by_start[start_utc]
        if all(bar == group[0][1] for _, bar, _ in group):
            bars.append(group[0][1])
            dropped += len(group) - 1
            continue
        for line, _, raw_ts in group:
            others = [str(other) for other, _, _ in group if other != line]
            where = f"line {others[0]}" if len(others) == 1 else f"lines {', '.join(others)}"
            problems[line] = f"timestamp {raw_ts!r} repeated with different values on {where}"
    return ImportCheck(
        tuple(bars),
        tuple(RowProblem(line, problems[line]) for line in sorted(problems)),
        dropped,
    )


def format_problems(problems: Sequence[RowProblem], limit: int = 20) -> list[str]:
    """`line N: reason` for the first `limit` problems, then `... and K more bad rows`."""
    out = [f"line {p.line}: {p.reason}" for p in problems[:limit]]
    if len(problems) > limit:
        out.append(f"... and {len(problems) - limit} more bad rows")
    return out


def _column_name(name: object) -> str:
    return str(name).strip().lstrip("\ufeff").strip()


def _is_missing(value: RawValue) -> bool:
    # `value != value` catches pandas NaT without importing pandas; a float NaN is "not finite".
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, datetime) and value != value)


def _timestamp(value: RawValue, interval: Interval, timezone: tzinfo | None) -> tuple[datetime, str]:
    if _is_missing(value):
        raise _Bad("timestamp is missing")
    raw = value.strip() if isinstance(value, str) else str(value)
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, date):  # a Parquet date32 column: the session date, local midnight
        ts = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            raise _Bad(f"timestamp {raw!r} is not an ISO 8601 date-time") from None
    else:
        raise _Bad(f"timestamp {raw!r} is not a date-time")
    try:
        if ts.tzinfo is None or ts.utcoffset() is None:
            if timezone is None:
                raise _Bad("timestamp has no UTC offset; pass --timezone")
            ts = _localize(ts, raw, timezone)
        local = ts if timezone is None else ts.astimezone(timezone)
        if not _on_grid(local, interval):
            raise _Bad(f"timestamp {raw!r} is not on the {interval.name} grid")
        return ts.astimezone(UTC), raw
    except (OverflowError, ValueError):  # near year 1 or 9999 a zone shift leaves datetime's range
        raise _Bad(f"timestamp {raw!r} is outside {EARLIEST_START.date()} .. tomorrow (UTC)") from None


def _localize(naive: datetime, raw: str, timezone: tzinfo) -> datetime:
    early, late = naive.replace(tzinfo=timezone, fold=0), naive.replace(tzinfo=timezone, fold=1)
    if early.utcoffset() != late.utcoffset():
        # fold=0 and fold=1 disagree: the wall time is skipped or repeated by a DST change.
        back = early.astimezone(UTC).astimezone(timezone).replace(tzinfo=None)
        what = "does not exist" if back != naive else "is ambiguous"
        raise _Bad(f"timestamp {raw!r} {what} in {timezone} (DST change); give a UTC offset")
    return early


def _on_grid(local: datetime, interval: Interval) -> bool:
    if local.second or local.microsecond:
        return False
    minutes = local.hour * 60 + local.minute
    if interval.daily:
        return minutes == 0
    return minutes % interval.minutes == 0


def _bar(symbol: str, interval: Interval, start_utc: datetime, values: list[RawValue]) -> Bar:
    o, h, lo, c = (_price(name, v) for name, v in zip(("open", "high", "low", "close"), values))
    volume = _volume(values[4])
    reasons = []
    if h < lo:
        reasons.append(f"high {h} < low {lo}")
    else:
        for name, price in (("open", o), ("close", c)):
            if not lo <= price <= h:
                reasons.append(f"{name} {price} outside [low {lo}, high {h}]")
        if lo <= 0:
            reasons.append(f"low {lo} is not positive")
        if h >= MAX_PRICE:
            reasons.append(f"high {h} is not below {MAX_PRICE:g}")
    if volume < 0:
        reasons.append(f"volume {volume} is negative")
    if reasons:
        raise _Bad("; ".join(reasons))
    return Bar(symbol, interval.name, start_utc, o, h, lo, c, volume)


def _number(name: str, value: RawValue) -> float | int:
    if _is_missing(value):
        raise _Bad(f"{name} is missing")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Bad(f"{name} {value!r} is not a number")
    if isinstance(value, int | float):
        number: float | int = value
    else:
        text = value.strip()
        try:
            number = int(text) if name == "volume" and text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise _Bad(f"{name} {value!r} is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise _Bad(f"{name} {number} is not finite")
    return number


def _price(name: str, value: RawValue) -> float:
    return float(_number(name, value))


def _volume(value: RawValue) -> int:
    number = _number("volume", value)
    if isinstance(number, float):
        if not number.is_integer():
            raise _Bad(f"volume {number} is not a whole number")
        number = int(number)
    if number >= MAX_VOLUME:
        raise _Bad(f"volume {number} is too large (limit: below {MAX_VOLUME:.0e})")
    return number
