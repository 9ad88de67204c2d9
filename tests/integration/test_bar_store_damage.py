"""A damaged period file of the Parquet bar store: named, confined to the reads that need it,
found by `verify()`, replaced by a re-write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mismarterad.core.errors import StorageError
from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_bar_store import BAR_SCHEMA, DamagedFileError, ParquetBarStore

FAR_PAST = datetime(1990, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
SERIES = "bars/interval=1m/symbol=SPY"


def minutes(start: datetime, count: int, symbol: str = "SPY", close: float = 10.0) -> list[Bar]:
    return [Bar(symbol, "1m", start + timedelta(minutes=i), close, close + 0.5, close - 0.5, close, 100 + i)
            for i in range(count)]


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def zero_length(path: Path) -> None:
    path.write_bytes(b"")


def flip_bits(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x10  # inside the first column's data pages: its page checksum fails
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {"truncated": truncate, "zero-length": zero_length,
                                             "bit-flipped": flip_bits}
JAN = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
FEB = datetime(2011, 2, 1, 14, 30, tzinfo=UTC)


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[ParquetBarStore, Path]:
    store = ParquetBarStore(tmp_path)
    store.write_bars("SPY", "1m", minutes(JAN, 3000) + minutes(FEB, 500))
    store.write_bars("AAPL", "1m", minutes(JAN, 400, "AAPL"))
    path = tmp_path / SERIES / "2011-01.parquet"
    DAMAGE[request.param](path)
    return store, path


def test_read_of_damaged_month_names_file_symbol_and_month(damaged: tuple[ParquetBarStore, Path]) -> None:
    store, path = damaged
    with pytest.raises(DamagedFileError) as info:
        store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE)
    assert isinstance(info.value, StorageError)
    message = str(info.value)
    assert str(path) in message and "SPY 1m 2011-01" in message


def test_damage_affects_only_reads_that_need_the_file(damaged: tuple[ParquetBarStore, Path]) -> None:
    store, _ = damaged
    assert len(store.read_bars("SPY", "1m", datetime(2011, 2, 1, tzinfo=UTC), FAR_FUTURE)) == 500
    assert len(store.read_bars("AAPL", "1m", FAR_PAST, FAR_FUTURE)) == 400


def test_series_lists_the_others_and_report_flags_the_damaged_file(damaged: tuple[ParquetBarStore, Path],
                                                                     request: pytest.FixtureRequest) -> None:
    store, path = damaged
    series, problems = store.series_report()
    assert [(s.symbol, s.rows) for s in series if s.symbol == "AAPL"] == [("AAPL", 400)]
    if "bit-flipped" not in request.node.callspec.id:  # the footer is intact: found by verify() only
        assert [(p.path, p.symbol, p.interval, p.period) for p in problems] == [(path, "SPY", "1m", "2011-01")]
        spy = [s for s in series if s.symbol == "SPY"]
        assert [(s.rows, s.first_utc) for s in spy] == [(500, FEB)]
    assert store.series() == series


def test_verify_names_exactly_the_damaged_file(damaged: tuple[ParquetBarStore, Path]) -> None:
    store, path = damaged
    problems = store.verify()
    assert [(p.path, p.symbol, p.period) for p in problems] == [(path, "SPY", "2011-01")]
    assert str(path) in str(problems[0])


def test_rewrite_of_damaged_month_replaces_it_and_keeps_a_copy(damaged: tuple[ParquetBarStore, Path]) -> None:
    store, path = damaged
    broken = path.read_bytes()
    bars = minutes(JAN, 3000)
    result = store.write_bars("SPY", "1m", bars)
    assert result.inserted == 3000
    assert store.read_bars("SPY", "1m", FAR_PAST, datetime(2011, 2, 1, tzinfo=UTC)) == bars
    assert path.with_name("2011-01.parquet.damaged").read_bytes() == broken
    assert store.verify() == []
    assert len(store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE)) == 3500


def _write_raw(path: Path, starts_us: list[int], close: float = 10.0) -> None:
    n = len(starts_us)
    table = pa.Table.from_arrays(
        [pa.array(starts_us, pa.int64()).cast(BAR_SCHEMA.field(0).type), pa.array([close] * n),
         pa.array([close + 1] * n), pa.array([close - 1] * n), pa.array([close] * n), pa.array([1] * n, pa.int64())],
        schema=BAR_SCHEMA)
    pq.write_table(table, path)


@pytest.mark.parametrize(
    ("minutes_in", "reason"),
    [([2, 1], "out of order"), ([1, 1], "repeated"), ([1.5], "not on the 1m grid"), ([-60 * 24 * 40], "outside")],
)
def test_verify_checks_order_uniqueness_grid_and_period(tmp_path: Path, minutes_in: list[float], reason: str) -> None:
    store = ParquetBarStore(tmp_path)
    store.write_bars("SPY", "1m", minutes(JAN, 10))
    path = tmp_path / SERIES / "2011-01.parquet"
    base = int((JAN - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)
    _write_raw(path, [base + int(m * 60_000_000) for m in minutes_in])
    problems = store.verify()
    assert len(problems) == 1 and reason in problems[0].reason, problems


def test_verify_rejects_a_foreign_schema(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    store.write_bars("SPY", "1m", minutes(JAN, 10))
    path = tmp_path / SERIES / "2011-01.parquet"
    pq.write_table(pa.table({"start_utc": [1, 2], "price": [1.0, 2.0]}), path)
    (problem,) = store.verify()
    assert "schema" in problem.reason
    with pytest.raises(DamagedFileError, match="schema"):
        store.read_bars("SPY", "1m", FAR_PAST, FAR_FUTURE)


def test_verify_of_a_sound_store_is_empty(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    store.write_bars("SPY", "1m", minutes(JAN, 3000))
    store.write_bars("SPY", "1d", [Bar("SPY", "1d", datetime(2011, 1, 3, 5, tzinfo=UTC), 10, 11, 9, 10, 5)])
    assert store.verify() == []
