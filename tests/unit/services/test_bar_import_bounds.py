"""Sane ranges at import: timestamps 1990-01-01 .. tomorrow (UTC), prices below 1e7, volume
below 1e13. Any row outside is rejected with its line; rows inside are kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.intervals import parse_interval
from mismarterad.services.bar_import import EARLIEST_START, MAX_PRICE, MAX_VOLUME, parse_rows

M1 = parse_interval("1m")
TODAY = date(2026, 12, 1)
LIMIT = datetime(2026, 12, 3, tzinfo=UTC)  # the end of tomorrow, exclusive
GOOD = {"timestamp": "2011-01-03T09:30:00-05:00", "open": "10", "high": "11", "low": "9", "close": "10",
        "volume": "100"}


def check(*rows: dict[str, object], today: date = TODAY):  # type: ignore[no-untyped-def]
    return parse_rows(list(enumerate(rows, 2)), "SPY", M1, None, today)


@pytest.mark.parametrize("ts", ["9999-12-31T09:30:00-05:00", "9999-12-31T23:59:00-05:00",
                                "0001-01-01T00:00:00+01:00", "0001-01-01T09:30:00+00:00",
                                "1989-12-31T23:59:00+00:00", "2026-12-03T00:00:00+00:00"])
def test_timestamp_outside_the_range_is_rejected_with_its_line(ts: str) -> None:
    result = check(GOOD, {**GOOD, "timestamp": ts})
    assert [p.line for p in result.problems] == [3]
    assert "outside 1990-01-01" in result.problems[0].reason and repr(ts) in result.problems[0].reason
    assert len(result.bars) == 1


@pytest.mark.parametrize("ts", ["1990-01-01T00:00:00+00:00", "2026-12-02T23:59:00+00:00"])
def test_range_edges_are_inside(ts: str) -> None:
    assert check({**GOOD, "timestamp": ts}).problems == ()


def test_naive_timestamps_out_of_range_in_a_zone_are_rejected_not_raised() -> None:
    rows = [(2, {**GOOD, "timestamp": "9999-12-31T23:59:00"}), (3, {**GOOD, "timestamp": "0001-01-01T00:00:00"})]
    result = parse_rows(rows, "SPY", M1, timezone(timedelta(hours=-5)), TODAY)
    assert [p.line for p in result.problems] == [2, 3]


def test_native_datetimes_from_parquet_are_bounded_too() -> None:
    result = check({**GOOD, "timestamp": datetime(9999, 12, 31, 9, 30, tzinfo=UTC)},
                   {**GOOD, "timestamp": datetime(1, 1, 1, tzinfo=UTC)})
    assert [p.line for p in result.problems] == [2, 3]


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("high", "1e7", "high 10000000.0 is not below 1e+07"),
    ("high", "inf", "high inf is not finite"),
    ("volume", "1e13", "volume 10000000000000 is too large"),
    ("volume", "nan", "volume nan is not finite"),
])
def test_price_and_volume_bounds(field: str, value: str, reason: str) -> None:
    result = check({**GOOD, field: value})
    assert [p.line for p in result.problems] == [2]
    assert result.problems[0].reason.startswith(reason)


# --- property: any row outside the bounds is rejected, with its line ---

_out_ts = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(1989, 12, 31, 23, 59)),
    st.datetimes(min_value=datetime(2026, 12, 3), max_value=datetime(9999, 12, 30)),
).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC))
_in_ts = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2026, 12, 2, 23, 59)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC))
_ok_price = st.floats(min_value=0.01, max_value=MAX_PRICE / 2)


@st.composite
def bad_row(draw: st.DrawFn) -> dict[str, object]:
    ts = draw(st.one_of(_in_ts, _out_ts))
    price = draw(_ok_price)
    row: dict[str, object] = {"timestamp": ts.isoformat(), "open": repr(price), "high": repr(price),
                              "low": repr(price), "close": repr(price), "volume": "100"}
    if EARLIEST_START <= ts < LIMIT:  # make something else out of range
        kind = draw(st.sampled_from(["price", "volume", "nonpositive"]))
        if kind == "price":
            big = draw(st.floats(min_value=MAX_PRICE, max_value=1e300))
            row.update(high=repr(big), close=repr(big))
        elif kind == "volume":
            row["volume"] = str(draw(st.integers(MAX_VOLUME, 10**30)))
        else:
            row.update(low=repr(-draw(st.floats(0, 1e6))))
    if draw(st.booleans()):  # also as Parquet would hand them over: native values
        row = {**row, "timestamp": datetime.fromisoformat(str(row["timestamp"])),
               **{k: float(str(row[k])) for k in ("open", "high", "low", "close")}}
    return row


@settings(max_examples=300, deadline=None)
@given(good_before=st.integers(0, 3), bad=st.lists(bad_row(), min_size=1, max_size=5))
def test_any_row_outside_the_bounds_is_rejected_with_its_line(good_before: int, bad: list[dict[str, object]]) -> None:
    goods = [{**GOOD, "timestamp": f"2011-01-03T09:{30 + i}:00-05:00"} for i in range(good_before)]
    rows = list(enumerate(goods + bad, 2))
    result = parse_rows(rows, "SPY", M1, None, TODAY)
    assert [p.line for p in result.problems] == list(range(2 + good_before, 2 + good_before + len(bad)))
    assert len(result.bars) == good_before
    for b in result.bars:
        assert EARLIEST_START <= b.start_utc < LIMIT and 0 < b.low <= b.high < MAX_PRICE and 0 <= b.volume < MAX_VOLUME
