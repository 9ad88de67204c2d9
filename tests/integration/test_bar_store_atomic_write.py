"""A write spanning several months is all-or-nothing: a failure in any month leaves every
month as it was (the store side of `data import` being all-or-nothing)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mismarterad.core.errors import StorageError
from mismarterad.core.market_data import Bar
from mismarterad.repositories import parquet_bar_store, parquet_files
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

SERIES = "bars/interval=1m/symbol=SPY"
JAN = datetime(2011, 1, 31, 14, 30, tzinfo=UTC)


def minutes(start: datetime, count: int, close: float = 10.0) -> list[Bar]:
    return [Bar("SPY", "1m", start + timedelta(minutes=i), close, close + 0.5, close - 0.5, close, 100 + i)
            for i in range(count)]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def store(tmp_path: Path) -> ParquetBarStore:
    s = ParquetBarStore(tmp_path)
    s.write_bars("SPY", "1m", minutes(JAN, 10))  # January holds 10 bars; February is new
    return s


# 3 months: Jan (existing), Feb, Mar (new); new bars replace Jan's and add Feb and Mar
SPAN = minutes(JAN, 10, close=20.0) + minutes(datetime(2011, 2, 10, 14, 30, tzinfo=UTC), 5, close=20.0) \
    + minutes(datetime(2011, 3, 10, 14, 30, tzinfo=UTC), 5, close=20.0)


def test_failed_staging_of_second_month_leaves_first_month_unchanged(
    store: ParquetBarStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(tmp_path)
    real = parquet_files.stage_write
    calls = []

    def fail_second(path: Path, table: object) -> parquet_files.StagedFile:
        calls.append(path.name)
        if len(calls) == 2:
            raise parquet_files.StoreWriteError(f"cannot write {path}: No space left on device")
        return real(path, table)  # type: ignore[arg-type]

    monkeypatch.setattr(parquet_bar_store, "stage_write", fail_second)
    with pytest.raises(StorageError, match="2011-02.parquet"):
        store.write_bars("SPY", "1m", SPAN)
    assert snapshot(tmp_path) == before  # no temp file left, January untouched, no February


def test_failed_rename_of_a_later_month_restores_the_earlier_ones(
    store: ParquetBarStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(tmp_path)
    real = os.replace
    renames: list[str] = []

    def fail_third(src: object, dst: object) -> None:
        if str(src).endswith(".tmp"):
            renames.append(Path(str(dst)).name)
            if len(renames) == 3:
                raise OSError(30, "Read-only file system")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", fail_third)
    with pytest.raises(StorageError, match="2011-03.parquet.*nothing was changed"):
        store.write_bars("SPY", "1m", SPAN)
    monkeypatch.undo()
    assert renames == ["2011-01.parquet", "2011-02.parquet", "2011-03.parquet"]
    assert snapshot(tmp_path) == before
    assert store.read_bars("SPY", "1m", JAN, datetime(2012, 1, 1, tzinfo=UTC)) == minutes(JAN, 10)


def test_read_only_month_directory_fails_the_whole_write(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes through permissions: make the month path a directory instead
        store = ParquetBarStore(tmp_path)
        store.write_bars("SPY", "1m", minutes(JAN, 10))
        (tmp_path / SERIES / "2011-02.parquet").mkdir()  # os.replace of a file onto a directory fails
    else:
        store = ParquetBarStore(tmp_path)
        store.write_bars("SPY", "1m", minutes(JAN, 10))
        os.chmod(tmp_path / SERIES, 0o555)
    before = snapshot(tmp_path)
    try:
        with pytest.raises(StorageError, match="nothing was changed"):
            store.write_bars("SPY", "1m", SPAN)
    finally:
        os.chmod(tmp_path / SERIES, 0o755)
    assert snapshot(tmp_path) == before
    assert store.read_bars("SPY", "1m", JAN, datetime(2011, 2, 1, tzinfo=UTC)) == minutes(JAN, 10)
