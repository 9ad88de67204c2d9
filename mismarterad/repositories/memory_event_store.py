"""In-memory twin of ParquetEventStore (tests, small backtests); same rules, no disk."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from mismarterad.core.bar_store import check_range
from mismarterad.core.event_store import E, check_events
from mismarterad.core.market_data import Quote, Tick

__all__ = ["MemoryEventStore"]


class MemoryEventStore:
    def __init__(self) -> None:
        self._ticks: dict[str, list[Tick]] = {}
        self._quotes: dict[str, list[Quote]] = {}
        self._lock = threading.Lock()

    def write_ticks(self, symbol: str, ticks: Sequence[Tick]) -> int:
        return self._write(self._ticks, symbol, ticks)

    def read_ticks(self, symbol: str, start_utc: datetime, end_utc: datetime) -> list[Tick]:
        return _read(self._ticks, symbol, start_utc, end_utc)

    def write_quotes(self, symbol: str, quotes: Sequence[Quote]) -> int:
        return self._write(self._quotes, symbol, quotes)

    def read_quotes(self, symbol: str, start_utc: datetime, end_utc: datetime) -> list[Quote]:
        return _read(self._quotes, symbol, start_utc, end_utc)

    def _write(self, table: dict[str, list[E]], symbol: str, events: Sequence[E]) -> int:
        batch = check_events(symbol, events)
        if not batch:
            return 0
        first, last = batch[0].ts_utc, batch[-1].ts_utc
        with self._lock:
            kept = [e for e in table.get(symbol, []) if not first <= e.ts_utc <= last]
            table[symbol] = sorted([*kept, *batch], key=lambda e: e.ts_utc)
        return len(batch)


def _read(table: dict[str, list[E]], symbol: str, start_utc: datetime, end_utc: datetime) -> list[E]:
    check_range(start_utc, end_utc)
    return [e for e in table.get(symbol, []) if start_utc <= e.ts_utc < end_utc]
