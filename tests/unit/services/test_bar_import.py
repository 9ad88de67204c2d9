"""parse_rows: every validation rule, line numbering, duplicates, and a round-trip property."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.errors import DataError
from mismarterad.core.intervals import Interval, parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.services.bar_import import (
    ImportCheck,
    MAX_VOLUME,
    MissingColumnsError,
    RowProblem,
    format_problems,
    parse_rows,
    require_columns,
)

NY = ZoneInfo("America/New_York")
EST = timezone(timedelta(hours=-5))
TODAY = date(2026, 12, 1)  # the bounds' "today": every row here is years before it
M1 = parse_interval("1m")


def row(ts: object = "2011-01-03T09:30:00-05:00", o: object = "10.0", h: object = "10.5",
        lo: object = "9.5", c: object = "10.2", v: object = "100") -> dict[str, object]:
    return {"timestamp": ts, "open": o, "high": h, "low": lo, "close": c, "volume": v}


def parse(*rows: Mapping[str, object], interval: Interval = M1,
          tz: timezone | ZoneInfo | None = None) -> ImportCheck:
    return parse_rows(enumerate(rows, start=2), "SPY", interval, tz, TODAY)  # type: ignore[arg-type]


def reasons(check: ImportCheck) -> list[str]:
    return [p.reason for p in check.problems]


def test_good_csv_row_becomes_utc_bar() -> None:
    check = parse(row())
    assert check.problems == ()
    assert check.bars == (Bar("SPY", "1m", datetime(2011, 1, 3, 14, 30, tzinfo=UTC),
                              10.0, 10.5, 9.5, 10.2, 100),)
    assert check.bars[0].start_utc.tzinfo is UTC


def test_parquet_typed_values_are_accepted() -> None:
    ts = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
    check = parse(row(ts=ts, o=10.0, h=10.5, lo=9.5, c=10.2, v=100))
    assert check.problems == ()
    assert check.bars[0] == Bar("SPY", "1m", ts, 10.0, 10.5, 9.5, 10.2, 100)


def test_missing_columns_raise_naming_missing_and_found() -> None:
    bad = {"timestamp": "x", "open": "1", "close": "1", "volume": "1"}
    with pytest.raises(MissingColumnsError) as info:
        parse(bad)
    assert isinstance(info.value, DataError)
    assert info.value.missing == ("high", "low")
    assert "missing required column(s) high, low" in str(info.value)
    assert "found: timestamp, open, close, volume" in str(info.value)


def test_require_columns_accepts_bom_spaces_and_extra_columns() -> None:
    require_columns(["\ufefftimestamp", " open", "high", "low", "close", "volume", "Adj Close"])
    with pytest.raises(MissingColumnsError, match="found: no columns"):
        require_columns([])


def test_bom_header_key_is_read() -> None:
    r = row()
    r["\ufefftimestamp"] = r.pop("timestamp")
    assert parse(r).problems == ()


def test_no_rows_is_empty_check() -> None:
    assert parse() == ImportCheck((), ())


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("o", "abc", "open 'abc' is not a number"),
        ("h", "", "high is missing"),
        ("lo", None, "low is missing"),
        ("c", "nan", "close nan is not finite"),
        ("h", "inf", "high inf is not finite"),
        ("o", float("nan"), "open nan is not finite"),
        ("v", "12x", "volume '12x' is not a number"),
        ("v", "-inf", "volume -inf is not finite"),
        ("v", True, "volume True is not a number"),
    ],
)
def test_unparsable_or_non_finite_numbers_are_reported(field: str, value: object,
                                                        reason: str) -> None:
    check = parse(row(**{field: value}))
    assert check.problems == (RowProblem(2, reason),)
    assert check.bars == ()


def test_high_below_low() -> None:
    assert reasons(parse(row(o="10.8", h="10.5", lo="11.0", c="10.8"))) == [
        "high 10.5 < low 11.0"
    ]


def test_open_and_close_outside_range_are_both_named() -> None:
    check = parse(row(o="9.0", h="10.0", lo="9.5", c="10.25"))
    assert reasons(check) == [
        "open 9.0 outside [low 9.5, high 10.0]; close 10.25 outside [low 9.5, high 10.0]"
    ]


def test_non_positive_low_is_rejected() -> None:
    assert reasons(parse(row(o="0", h="1", lo="0", c="1"))) == ["low 0.0 is not positive"]


@pytest.mark.parametrize(
    ("volume", "reason"),
    [
        ("-3", "volume -3 is negative"),
        ("2031.5", "volume 2031.5 is not a whole number"),
        (2031.5, "volume 2031.5 is not a whole number"),
        ("99999999999999999999", "volume 99999999999999999999 is too large (limit: below 1e+13)"),
    ],
)
def test_bad_volume(volume: object, reason: str) -> None:
    assert reasons(parse(row(v=volume))) == [reason]


@pytest.mark.parametrize("volume", ["2031.0", 2031.0, 2031, " 2031 ", "2.031e3"])
def test_whole_float_volume_is_accepted(volume: object) -> None:
    check = parse(row(v=volume))
    assert check.problems == ()
    assert check.bars[0].volume == 2031
    assert type(check.bars[0].volume) is int


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        ("", "timestamp is missing"),
        (None, "timestamp is missing"),
        ("yesterday", "timestamp 'yesterday' is not an ISO 8601 date-time"),
        (1294065000, "timestamp '1294065000' is not a date-time"),
        ("2011-01-03 09:30:00", "timestamp has no UTC offset; pass --timezone"),
    ],
)
def test_bad_timestamps(ts: object, reason: str) -> None:
    assert reasons(parse(row(ts=ts))) == [reason]


def test_naive_timestamp_uses_timezone_argument_across_dst() -> None:
    check = parse(row(ts="2011-03-11 09:30"), row(ts="2011-03-14 09:30"), tz=NY)
    assert check.problems == ()
    assert [b.start_utc.hour for b in check.bars] == [14, 13]


def test_explicit_offset_wins_over_timezone_argument() -> None:
    check = parse(row(ts="2011-01-03T14:30:00+00:00"), tz=NY)
    assert check.bars[0].start_utc == datetime(2011, 1, 3, 14, 30, tzinfo=UTC)


def test_naive_wall_time_skipped_or_repeated_by_dst_is_reported() -> None:
    check = parse(row(ts="2011-03-13 02:30"), row(ts="2011-11-06 01:30"), tz=NY)
    assert reasons(check) == [
        "timestamp '2011-03-13 02:30' does not exist in America/New_York (DST change); "
        "give a UTC offset",
        "timestamp '2011-11-06 01:30' is ambiguous in America/New_York (DST change); "
        "give a UTC offset",
    ]


@pytest.mark.parametrize(
    ("ts", "interval"),
    [
        ("2011-01-03 09:30:15-05:00", "1m"),
        ("2011-01-03 09:30:00.5-05:00", "1m"),
        ("2011-01-03 09:32:00-05:00", "5m"),
        ("2011-01-03 09:30:00-05:00", "1h"),
        ("2011-01-03 09:30:00-05:00", "1d"),
    ],
)
def test_timestamp_off_the_interval_grid(ts: str, interval: str) -> None:
    check = parse(row(ts=ts), interval=parse_interval(interval))
    assert reasons(check) == [f"timestamp {ts!r} is not on the {interval} grid"]


def test_grid_is_checked_in_timezone_argument_when_given() -> None:
    # Daily bars stamped in UTC: 05:00Z is midnight in New York, not in UTC.
    daily = parse_interval("1d")
    ts = "2011-01-03T05:00:00+00:00"
    assert reasons(parse(row(ts=ts), interval=daily)) == [f"timestamp {ts!r} is not on the 1d grid"]
    check = parse(row(ts=ts), interval=daily, tz=NY)
    assert check.problems == ()
    assert check.bars[0].interval == "1d"


def test_parquet_date_value_is_local_midnight() -> None:
    check = parse(row(ts=date(2011, 1, 3)), interval=parse_interval("1d"), tz=NY)
    assert check.bars[0].start_utc == datetime(2011, 1, 3, 5, tzinfo=UTC)


def test_conflicting_duplicate_timestamps_reject_both_lines() -> None:
    check = parse(row(), row(ts="2011-01-03T09:31:00-05:00"), row(c="10.3"))
    assert check.problems == (
        RowProblem(2, "timestamp '2011-01-03T09:30:00-05:00' repeated with different values "
                      "on line 4"),
        RowProblem(4, "timestamp '2011-01-03T09:30:00-05:00' repeated with different values "
                      "on line 2"),
    )
    assert [b.start_utc.minute for b in check.bars] == [31]


def test_same_instant_in_other_offset_counts_as_duplicate() -> None:
    check = parse(row(), row(ts="2011-01-03T14:30:00Z", c="10.3"), row(c="10.4"))
    assert [p.line for p in check.problems] == [2, 3, 4]
    assert check.problems[0].reason.endswith("on lines 3, 4")


def test_identical_duplicates_are_kept_once() -> None:
    check = parse(row(), row(), row(ts="2011-01-03T14:30:00+00:00"))
    assert check.problems == ()
    assert len(check.bars) == 1
    assert check.duplicates_dropped == 2


def test_bars_are_sorted_and_problems_ordered_by_line() -> None:
    check = parse(
        row(ts="2011-01-03T09:32:00-05:00"),
        row(v="-1"),
        row(ts="2011-01-03T09:31:00-05:00"),
        row(h="x"),
    )
    assert [b.start_utc.minute for b in check.bars] == [31, 32]
    assert [p.line for p in check.problems] == [3, 5]


def test_real_file_line_numbers_count_the_header() -> None:
    lines = ["timestamp,open,high,low,close,volume",
             "2015-03-04T00:00:00-05:00,210.0,211.0,209.0,210.5,100",
             "2015-03-05T00:00:00-05:00,209.42,210.80,209.85,210.46,100"]
    check = parse_rows(enumerate(csv.DictReader(lines), start=2), "SPY", parse_interval("1d"), None, TODAY)
    assert format_problems(check.problems) == [
        "line 3: open 209.42 outside [low 209.85, high 210.8]"
    ]


def test_format_problems_limits_and_counts_the_rest() -> None:
    problems = [RowProblem(n, f"bad {n}") for n in range(2, 27)]
    out = format_problems(problems)
    assert len(out) == 21
    assert out[0] == "line 2: bad 2"
    assert out[19] == "line 21: bad 21"
    assert out[20] == "... and 5 more bad rows"
    assert format_problems(problems[:3], limit=3) == ["line 2: bad 2", "line 3: bad 3",
                                                      "line 4: bad 4"]
    assert format_problems([]) == []


# --- property: any valid series survives the trip through text rows unchanged ---

_prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def valid_series(draw: st.DrawFn) -> tuple[Interval, list[Bar]]:
    interval = draw(st.sampled_from([parse_interval(x) for x in ("1m", "5m", "15m", "1h", "1d")]))
    step = timedelta(days=1) if interval.daily else interval.length
    slots = draw(st.lists(st.integers(0, 3000), min_size=1, max_size=40, unique=True))
    origin = datetime(2011, 3, 1, tzinfo=EST)  # midnight, on every grid
    bars = []
    for slot in slots:
        p = sorted(draw(st.lists(_prices, min_size=4, max_size=4)))
        o, c = draw(st.permutations([p[1], p[2]]))
        start = (origin + slot * step).astimezone(UTC)
        bars.append(Bar("SPY", interval.name, start, o, p[3], p[0], c,
                        draw(st.integers(0, MAX_VOLUME - 1))))
    return interval, bars


@settings(max_examples=60, deadline=None)
@given(series=valid_series(), as_text=st.booleans(), data=st.data())
def test_valid_series_round_trips_exactly(series: tuple[Interval, list[Bar]], as_text: bool,
                                          data: st.DataObject) -> None:
    interval, bars = series
    shuffled = data.draw(st.permutations(bars))

    def to_row(b: Bar) -> dict[str, object]:
        ts = b.start_utc.astimezone(EST)
        if as_text:  # CSV: repr() of a float parses back to the same float
            return row(ts.isoformat(), repr(b.open), repr(b.high), repr(b.low), repr(b.close),
                       str(b.volume))
        return row(ts, b.open, b.high, b.low, b.close, b.volume)

    check = parse(*map(to_row, shuffled), interval=interval)
    assert check.problems == ()
    assert list(check.bars) == sorted(bars, key=lambda b: b.start_utc)
