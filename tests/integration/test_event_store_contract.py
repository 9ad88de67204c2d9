"""One contract for tick and quote stores, run against the in-memory twin and the Parquet store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.core.event_store import EventStore
from mismarterad.core.market_data import Quote, Tick
from mismarterad.repositories.memory_event_store import MemoryEventStore
from mismarterad.repositories.parquet_event_store import ParquetEventStore

T0 = datetime(2023, 5, 31, 19, 59, 59, tzinfo=UTC)  # a month boundary one second ahead


@pytest.fixture(params=["memory", "parquet"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> EventStore:
    return MemoryEventStore() if request.param == "memory" else ParquetEventStore(tmp_path)


def tick(seconds: float, price: float = 10.0, size: int = 100, symbol: str = "SPY") -> Tick:
    return Tick(symbol, T0 + timedelta(seconds=seconds), price, size)


def everything(store: EventStore) -> list[Tick]:
    return store.read_ticks("SPY", T0 - timedelta(days=40), T0 + timedelta(days=40))


def test_store_implements_protocol(store: EventStore) -> None:
    assert isinstance(store, EventStore)


def test_ticks_round_trip_across_a_month_boundary_with_ties_in_order(store: EventStore) -> None:
    ticks = [tick(0, 10.0), tick(0, 10.01, 5), tick(1.5, 10.02), tick(4 * 3600, 10.5)]  # 2 months
    assert store.write_ticks("SPY", ticks) == 4
    assert everything(store) == ticks
    assert store.read_ticks("SPY", T0, T0 + timedelta(seconds=1)) == ticks[:2]
    assert all(t.ts_utc.tzinfo is UTC for t in everything(store))


def test_rewriting_the_same_batch_changes_nothing(store: EventStore) -> None:
    ticks = [tick(0), tick(0, 10.5), tick(2)]
    store.write_ticks("SPY", ticks)
    store.write_ticks("SPY", ticks)
    assert everything(store) == ticks


def test_an_overlapping_batch_replaces_its_span_only(store: EventStore) -> None:
    store.write_ticks("SPY", [tick(0), tick(1), tick(2), tick(3)])
    store.write_ticks("SPY", [tick(1, 11.0), tick(2.5, 12.0)])
    assert [(t.ts_utc - T0).total_seconds() for t in everything(store)] == [0, 1, 2.5, 3]
    assert [t.price for t in everything(store)] == [10.0, 11.0, 12.0, 10.0]


def test_quotes_are_stored_apart_from_ticks(store: EventStore) -> None:
    quote = Quote("SPY", T0, 9.99, 300, 10.01, 200)
    store.write_quotes("SPY", [quote])
    assert store.read_quotes("SPY", T0, T0 + timedelta(seconds=1)) == [quote]
    assert everything(store) == []


def test_other_offsets_read_back_as_equal_utc(store: EventStore) -> None:
    local = Tick("SPY", T0.astimezone(timezone(timedelta(hours=-4))), 10.0, 1)
    store.write_ticks("SPY", [local])
    assert everything(store) == [local]


def test_bad_batches_are_refused_with_the_reason(store: EventStore) -> None:
    with pytest.raises(ValueError, match="written to SPY"):
        store.write_ticks("SPY", [tick(0, symbol="QQQ")])
    with pytest.raises(ValueError, match="naive"):
        store.write_ticks("SPY", [Tick("SPY", datetime(2023, 5, 1), 1.0, 1)])
    with pytest.raises(ValueError, match="invalid symbol"):
        store.write_ticks("../etc", [])
    with pytest.raises(ValueError, match="naive"):
        store.read_ticks("SPY", datetime(2023, 5, 1), T0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7200), st.integers(1, 5000)), max_size=30),
       st.lists(st.tuples(st.integers(0, 7200), st.integers(1, 5000)), min_size=1, max_size=30))
def test_parquet_and_memory_agree(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        stores: list[EventStore] = [MemoryEventStore(), ParquetEventStore(Path(tmp))]
        for batch in (first, second):
            ticks = [tick(s, p / 100) for s, p in batch]
            for s in stores:
                s.write_ticks("SPY", ticks)
        assert everything(stores[0]) == everything(stores[1])
