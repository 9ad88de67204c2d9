"""One suite for every BarStore: the in-memory twin must behave exactly like the Parquet store."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mismarterad.core.bar_store import BarStore, SeriesInfo, WriteResult
from mismarterad.core.market_data import Bar
from mismarterad.repositories import parquet_bar_store
from mismarterad.repositories.memory_bar_store import MemoryBarStore
from mismarterad.repositories.parquet_bar_store import BAR_SCHEMA, ParquetBarStore

NY = ZoneInfo("America/New_York")
FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "parquet"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BarStore:
    if request.param == "memory":
        return MemoryBarStore()
    return ParquetBarStore(tmp_path)


def bar(start: datetime, close: float = 10.0, volume: int = 100, symbol: str = "SPY",
        interval: str = "1m") -> Bar:
    return Bar(symbol, interval, start, close, close + 0.5, close - 0.5, close, volume)


def minutes(start: datetime, count: int, close: float = 10.0) -> list[Bar]:
    return [bar(start + timedelta(minutes=i), close + i / 100) for i in range(count)]


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def test_store_implements_protocol(store: BarStore) -> None:
    assert isinstance(store, BarStore)


def test_write_then_read_returns_equal_bars_in_aware_utc(store: BarStore) -> None:
    bars = minutes(ny(2011, 1, 3, 9, 30), 30)
    assert store.write_bars("SPY", "1m", bars) == WriteResult(30, 0, 0)
    got = store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE)
    assert got == bars
    assert all(b.start_utc.tzinfo is UTC for b in got)


def test_rewrite_of_same_bars_changes_nothing(store: BarStore) -> None:
    bars = minutes(ny(2011, 1, 31, 19, 0), 120)  # crosses the UTC month end
    store.write_bars("SPY", "1m", bars)
    result = store.write_bars("SPY", "1m", bars)
    assert result == WriteResult(0, 0, 120)
    assert not result.changed
    assert store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE) == bars


def test_overlapping_write_replaces_same_starts_and_keeps_others(store: BarStore) -> None:
    t0 = ny(2011, 1, 3, 9, 30)
    store.write_bars("SPY", "1m", minutes(t0, 10))
    newer = minutes(t0 + timedelta(minutes=5), 10, close=20.0)
    newer[0] = minutes(t0, 10)[5]  # identical to what is stored
    assert store.write_bars("SPY", "1m", newer) == WriteResult(5, 4, 1)
    got = store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE)
    assert got == minutes(t0, 10)[:6] + newer[1:]


def test_unsorted_write_reads_back_sorted(store: BarStore) -> None:
    bars = minutes(ny(2011, 1, 3, 9, 30), 20)
    store.write_bars("SPY", "1m", bars[10:] + bars[:10][::-1])
    store.write_bars("SPY", "1m", bars[3:7])
    assert store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE) == bars


def test_write_in_other_offset_is_stored_as_equal_utc_bar(store: BarStore) -> None:
    est = timezone(timedelta(hours=-5))
    written = bar(datetime(2011, 1, 3, 9, 30, tzinfo=est))
    store.write_bars("SPY", "1m", [written])
    (got,) = store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE)
    assert got == written
    assert got.start_utc.tzinfo is UTC and got.start_utc.hour == 14


def test_range_is_start_inclusive_end_exclusive(store: BarStore) -> None:
    t0 = ny(2011, 1, 3, 9, 30)
    bars = minutes(t0, 10)
    store.write_bars("SPY", "1m", bars)
    got = store.read_bars("SPY", "1m", t0 + timedelta(minutes=2), t0 + timedelta(minutes=5))
    assert got == bars[2:5]


def test_range_across_month_end_reads_both_partitions(store: BarStore) -> None:
    # 19:00-20:59 ET on Jan 31 is 00:00-01:59 UTC on Feb 1: two UTC months.
    bars = minutes(ny(2011, 1, 31, 18, 0), 240)
    store.write_bars("SPY", "1m", bars)
    got = store.read_bars("SPY", "1m", ny(2011, 1, 31, 18, 30), ny(2011, 1, 31, 20, 30))
    assert got == bars[30:150]


def test_range_across_dst_change_uses_utc(store: BarStore) -> None:
    friday = minutes(ny(2011, 3, 11, 9, 30), 390)
    monday = minutes(ny(2011, 3, 14, 9, 30), 390)  # EDT from Sunday 2011-03-13
    store.write_bars("SPY", "1m", friday + monday)
    got = store.read_bars("SPY", "1m", ny(2011, 3, 14, 0, 0), ny(2011, 3, 15, 0, 0))
    assert got == monday
    assert got[0].start_utc == datetime(2011, 3, 14, 13, 30, tzinfo=UTC)
    assert friday[0].start_utc == datetime(2011, 3, 11, 14, 30, tzinfo=UTC)
    assert store.read_bars("SPY", "1m", ny(2011, 3, 11), ny(2011, 3, 15)) == friday + monday


def test_empty_and_reversed_ranges_read_nothing(store: BarStore) -> None:
    t0 = ny(2011, 1, 3, 9, 30)
    store.write_bars("SPY", "1m", minutes(t0, 10))
    assert store.read_bars("SPY", "1m", t0, t0) == []
    assert store.read_bars("SPY", "1m", t0 + timedelta(minutes=5), t0) == []
    assert store.read_bars("SPY", "1m", ny(2011, 1, 4), ny(2011, 1, 5)) == []


def test_unknown_series_reads_empty(store: BarStore) -> None:
    store.write_bars("SPY", "1m", minutes(ny(2011, 1, 3, 9, 30), 3))
    assert store.read_bars("QQQ", "1m", FAR_PAST, FAR_FUTURE) == []
    assert store.read_bars("SPY", "5m", FAR_PAST, FAR_FUTURE) == []
    assert store.delete_series("QQQ", "1m") == 0


def test_series_lists_each_symbol_and_interval(store: BarStore) -> None:
    assert store.series() == []
    spy = minutes(ny(2011, 1, 31, 15, 0), 600)
    daily = [bar(ny(2011, 1, d), symbol="SPY", interval="1d") for d in (3, 4, 5)]
    aapl = [bar(ny(2023, 5, 25, 4, 0), symbol="BRK.B")]
    for b in (spy, daily, aapl):
        store.write_bars(b[0].symbol, b[0].interval, b)
    assert store.series() == [
        SeriesInfo("BRK.B", "1m", aapl[0].start_utc, aapl[0].start_utc, 1),
        SeriesInfo("SPY", "1d", daily[0].start_utc, daily[-1].start_utc, 3),
        SeriesInfo("SPY", "1m", spy[0].start_utc, spy[-1].start_utc, 600),
    ]
    assert all(s.first_utc.tzinfo is UTC and s.last_utc.tzinfo is UTC for s in store.series())


def test_delete_series_removes_only_that_series(store: BarStore) -> None:
    store.write_bars("SPY", "1m", minutes(ny(2011, 1, 31, 15, 0), 600))
    store.write_bars("QQQ", "1m", [bar(ny(2011, 1, 3, 9, 30), symbol="QQQ")])
    assert store.delete_series("SPY", "1m") == 600
    assert store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE) == []
    assert [s.symbol for s in store.series()] == ["QQQ"]


@pytest.mark.parametrize("symbol", ["../etc", "spy", "", ".", "..", "A/B", "SP Y", "-X"])
def test_invalid_symbol_is_rejected_with_its_name(store: BarStore, symbol: str) -> None:
    with pytest.raises(ValueError, match="invalid symbol"):
        store.write_bars(symbol, "1m", [])
    with pytest.raises(ValueError, match="invalid symbol"):
        store.read_bars(symbol, "1m", FAR_PAST, FAR_FUTURE)


@pytest.mark.parametrize("interval", ["60m", "1x", "../1m", "1w"])
def test_invalid_or_non_canonical_interval_is_rejected(store: BarStore, interval: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        store.read_bars("SPY", interval, FAR_PAST, FAR_FUTURE)


def test_bar_of_other_series_is_rejected_and_nothing_written(store: BarStore) -> None:
    bars = minutes(ny(2011, 1, 3, 9, 30), 3) + [bar(ny(2011, 1, 3, 9, 40), symbol="QQQ")]
    with pytest.raises(ValueError, match="QQQ/1m"):
        store.write_bars("SPY", "1m", bars)
    assert store.series() == []


def test_conflicting_duplicates_in_one_write_are_rejected(store: BarStore) -> None:
    t0 = ny(2011, 1, 3, 9, 30)
    with pytest.raises(ValueError, match="two different bars"):
        store.write_bars("SPY", "1m", [bar(t0, 10.0), bar(t0, 11.0)])
    assert store.write_bars("SPY", "1m", [bar(t0), bar(t0)]) == WriteResult(1, 0, 0)


def test_naive_times_are_rejected(store: BarStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.write_bars("SPY", "1m", [bar(datetime(2011, 1, 3, 14, 30))])
    with pytest.raises(ValueError, match="naive"):
        store.read_bars("SPY", "1m", datetime(2011, 1, 3), FAR_FUTURE)


# --- Parquet only: layout, atomicity, partition pruning ---


def test_parquet_files_are_partitioned_by_interval_symbol_and_utc_period(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    store.write_bars("SPY", "1m", minutes(ny(2011, 1, 31, 18, 0), 240))
    store.write_bars("SPY", "1d", [bar(ny(2011, 1, 3), interval="1d")])
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        "bars/interval=1d/symbol=SPY/2011.parquet",
        "bars/interval=1m/symbol=SPY/2011-01.parquet",
        "bars/interval=1m/symbol=SPY/2011-02.parquet",
    ]
    table = pq.read_table(tmp_path / files[1])
    assert table.schema.equals(BAR_SCHEMA)
    assert table.column("start_utc").to_pylist() == sorted(table.column("start_utc").to_pylist())


def test_parquet_unchanged_write_does_not_rewrite_file(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    bars = minutes(ny(2011, 1, 3, 9, 30), 10)
    store.write_bars("SPY", "1m", bars)
    path = tmp_path / "bars/interval=1m/symbol=SPY/2011-01.parquet"
    before = path.stat()
    store.write_bars("SPY", "1m", bars[2:5])
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_parquet_crash_before_rename_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParquetBarStore(tmp_path)
    old = minutes(ny(2011, 1, 3, 9, 30), 10)
    store.write_bars("SPY", "1m", old)

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.write_bars("SPY", "1m", minutes(ny(2011, 1, 3, 9, 30), 20, close=50.0))
    monkeypatch.undo()
    assert store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE) == old
    leftovers = [p.name for p in (tmp_path / "bars/interval=1m/symbol=SPY").iterdir()]
    assert leftovers == ["2011-01.parquet"]


def test_parquet_ignores_stray_temp_and_foreign_files(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    bars = minutes(ny(2011, 1, 3, 9, 30), 5)
    store.write_bars("SPY", "1m", bars)
    directory = tmp_path / "bars/interval=1m/symbol=SPY"
    (directory / ".2011-01.parquet.123.abc.tmp").write_bytes(b"half a file")
    (directory / "notes.txt").write_text("hello")
    (tmp_path / "bars/interval=1m/symbol=bad name").mkdir()
    assert store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE) == bars
    assert [s.symbol for s in store.series()] == ["SPY"]


def test_parquet_one_day_read_opens_only_its_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParquetBarStore(tmp_path)
    for month in (1, 2, 3, 4):
        store.write_bars("SPY", "1m", minutes(ny(2011, month, 10, 9, 30), 390))
    opened: list[str] = []
    real_open: Callable[..., pa.NativeFile] = pa.OSFile

    def counting_open(path: str, *args: object, **kwargs: object) -> pa.NativeFile:
        opened.append(Path(path).name)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(parquet_bar_store.pa, "OSFile", counting_open)
    got = store.read_bars("SPY", "1m", ny(2011, 3, 10), ny(2011, 3, 11))
    assert len(got) == 390
    assert opened == ["2011-03.parquet"]


def test_parquet_read_table_is_columnar_and_filtered(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    bars = minutes(ny(2011, 1, 31, 18, 0), 240)
    store.write_bars("SPY", "1m", bars)
    table = store.read_table("SPY", "1m", ny(2011, 1, 31, 18, 30), ny(2011, 1, 31, 20, 30))
    assert table.schema.equals(BAR_SCHEMA)
    assert table.num_rows == 120
    assert table.column("close").to_pylist() == [b.close for b in bars[30:150]]
    assert store.read_table("QQQ", "1m", FAR_PAST, FAR_FUTURE).num_rows == 0


def test_parquet_store_reopened_on_same_root_sees_the_data(tmp_path: Path) -> None:
    bars = minutes(ny(2011, 1, 3, 9, 30), 10)
    ParquetBarStore(tmp_path).write_bars("SPY", "1m", bars)
    assert ParquetBarStore(tmp_path).read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE) == bars


def test_parquet_store_sees_files_written_by_another_process(tmp_path: Path) -> None:
    """The partition listing is cached; a file renamed in by another writer must still be read."""
    from mismarterad.repositories.parquet_bar_store import ParquetBarStore

    reader, writer = ParquetBarStore(tmp_path), ParquetBarStore(tmp_path)
    writer.write_bars("SPY", "1m", minutes(ny(2011, 1, 3, 9, 30), 3))
    window = (ny(2011, 1, 1, 0, 0), ny(2011, 3, 1, 0, 0))
    assert len(reader.read_bars("SPY", "1m", *window)) == 3
    writer.write_bars("SPY", "1m", minutes(ny(2011, 2, 1, 9, 30), 2))  # a new month file
    assert len(reader.read_bars("SPY", "1m", *window)) == 5
