"""The bar store boundary: where bars live between import and use.

`MemoryBarStore` (tests, backtests) and `ParquetBarStore` (disk) implement `BarStore`;
`tests/integration/test_bar_store_contract.py` runs one suite against both. The helpers
below hold the rules both must share, so the twin cannot drift from the real store.

A series is one (symbol, interval) pair. Bars are keyed by `start_utc`; writing is an
idempotent upsert, so re-importing a file, or importing an overlapping one, is always safe.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar

__all__ = [
    "BarStore",
    "SeriesInfo",
    "WriteResult",
    "check_range",
    "check_series_key",
    "unique_bars",
]

# Starts with a letter or digit, so "." and ".." (and hidden names) can never be a symbol.
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,19}$")


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did, per distinct `start_utc` of the batch."""

    inserted: int
    replaced: int
    unchanged: int

    @property
    def changed(self) -> bool:
        """True if the stored series differs from before the write."""
        return self.inserted > 0 or self.replaced > 0

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.inserted + other.inserted,
            self.replaced + other.replaced,
            self.unchanged + other.unchanged,
        )


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One stored series: its first and last bar start (aware UTC) and row count."""

    symbol: str
    interval: str
    first_utc: datetime
    last_utc: datetime
    rows: int


@runtime_checkable
class BarStore(Protocol):
    """Durable or in-memory storage of bars, keyed by (symbol, interval, start_utc).

    Every `start_utc` returned is an aware datetime whose tzinfo is `datetime.UTC`.
    Invalid symbols or intervals raise ValueError naming them; unknown series read as empty.
    """

    def write_bars(self, symbol: str, interval: str, bars: Sequence[Bar]) -> WriteResult:
        """Upsert `bars`: same `start_utc` replaced, others kept; an identical re-write is a no-op.

        Every bar must carry `symbol` and `interval`. The same `start_utc` twice in one batch is
        collapsed if the bars are equal and a ValueError if they differ.
        """
        ...

    def read_bars(
        self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime
    ) -> list[Bar]:
        """Bars with `start_utc <= bar.start_utc < end_utc`, in time order."""
        ...

    def series(self) -> list[SeriesInfo]:
        """Every non-empty series, sorted by (symbol, interval)."""
        ...

    def delete_series(self, symbol: str, interval: str) -> int:
        """Remove a whole series; return how many bars it held (0 if unknown)."""
        ...


def check_series_key(symbol: str, interval: str) -> None:
    """Raise ValueError unless `symbol` and `interval` are safe, canonical names.

    Both become directory names in file-backed stores, so this is also the path-escape guard.
    """
    if not isinstance(symbol, str) or _SYMBOL.match(symbol) is None:
        raise ValueError(
            f"invalid symbol {symbol!r}: expected 1-20 of A-Z, 0-9, '.', '-' starting with A-Z or 0-9"
        )
    canonical = parse_interval(interval).name  # raises ValueError naming the interval
    if canonical != interval:
        raise ValueError(f"interval {interval!r} is not canonical: write {canonical!r}")


def check_range(start_utc: datetime, end_utc: datetime) -> None:
    """Raise ValueError if either bound is naive: a naive bound has no meaning in UTC."""
    for name, value in (("start_utc", start_utc), ("end_utc", end_utc)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} {value.isoformat()} is naive: pass an aware UTC datetime")


def unique_bars(symbol: str, interval: str, bars: Sequence[Bar]) -> dict[datetime, Bar]:
    """Validate a write batch and key it by `start_utc` (tzinfo normalized to `UTC`).

    Bars already in UTC are kept by reference; others are re-labelled, which keeps them equal.
    """
    check_series_key(symbol, interval)
    out: dict[datetime, Bar] = {}
    for bar in bars:
        if bar.symbol != symbol or bar.interval != interval:
            raise ValueError(
                f"bar {bar.symbol}/{bar.interval} at {bar.start_utc.isoformat()} "
                f"written to series {symbol}/{interval}"
            )
        ts = bar.start_utc
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise ValueError(f"{symbol}/{interval} bar start_utc {ts.isoformat()} is naive")
        if ts.tzinfo is not UTC:
            ts = ts.astimezone(UTC)
            bar = replace(bar, start_utc=ts)
        seen = out.get(ts)
        if seen is not None and seen != bar:
            raise ValueError(
                f"{symbol}/{interval}: two different bars at {ts.isoformat()} in one write"
            )
        out[ts] = bar
    return out
