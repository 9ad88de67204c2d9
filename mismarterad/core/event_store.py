"""The tick and quote store boundary.

Trades and quotes are not unique by timestamp (several prints can share a microsecond), so a
write does not upsert by key: it replaces everything the store holds for the symbol in the
batch's time span [first, last] with the batch. Writing the same file twice therefore changes
nothing, and re-importing an overlapping file replaces the overlap. `MemoryEventStore` and
`ParquetEventStore` implement it; one contract suite runs against both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeVar, runtime_checkable

from mismarterad.core.bar_store import check_range, check_series_key
from mismarterad.core.market_data import Quote, Tick

__all__ = ["EventKind", "EventStore", "check_events"]

EventKind = Literal["ticks", "quotes"]
E = TypeVar("E", Tick, Quote)


@runtime_checkable
class EventStore(Protocol):
    def write_ticks(self, symbol: str, ticks: Sequence[Tick]) -> int:
        """Replace the stored ticks in the batch's span with the batch; return rows written."""
        ...

    def read_ticks(self, symbol: str, start_utc: datetime, end_utc: datetime) -> list[Tick]:
        """Ticks with start_utc <= ts_utc < end_utc, in time order (ties in written order)."""
        ...

    def write_quotes(self, symbol: str, quotes: Sequence[Quote]) -> int: ...

    def read_quotes(self, symbol: str, start_utc: datetime, end_utc: datetime) -> list[Quote]: ...


def check_events(symbol: str, events: Sequence[E]) -> list[E]:
    """Validate a write batch: one symbol, aware UTC instants; return it sorted by time (stable)."""
    check_series_key(symbol, "1m")  # the symbol rule of every store (the interval is irrelevant here)
    for event in events:
        if event.symbol != symbol:
            raise ValueError(f"{type(event).__name__} of {event.symbol} at {event.ts_utc} written to {symbol}")
        if event.ts_utc.tzinfo is None or event.ts_utc.utcoffset() is None:
            raise ValueError(f"{symbol} {type(event).__name__.lower()} ts_utc {event.ts_utc.isoformat()} is naive")
        check_range(event.ts_utc, event.ts_utc)
    return sorted(events, key=lambda e: e.ts_utc.astimezone(UTC))
