"""DataManager reads ticks and quotes by market-local dates, converting at the edge only."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mismarterad.core.market_data import Quote, Tick
from mismarterad.managers.data_manager import DataManager
from mismarterad.managers.time_manager import TimeManager
from mismarterad.repositories.memory_bar_store import MemoryBarStore
from mismarterad.repositories.parquet_event_store import ParquetEventStore

NY = ZoneInfo("America/New_York")


def test_ticks_and_quotes_by_market_date(time_manager: TimeManager, tmp_path: Path) -> None:
    dm = DataManager(MemoryBarStore(), time_manager, ParquetEventStore(tmp_path))
    late = Tick("AAPL", datetime(2023, 5, 24, 19, 59, 59, tzinfo=NY), 171.2, 10)  # 23:59:59Z
    after_midnight_utc = Tick("AAPL", datetime(2023, 5, 24, 20, 0, 1, tzinfo=NY), 171.3, 5)  # 00:00:01Z next day
    next_day = Tick("AAPL", datetime(2023, 5, 25, 4, 0, tzinfo=NY), 172.0, 1)
    assert dm.store_ticks("AAPL", [late, after_midnight_utc, next_day]) == 3
    assert dm.get_ticks("AAPL", date(2023, 5, 24), date(2023, 5, 24)) == [late, after_midnight_utc]
    assert dm.get_ticks("AAPL", date(2023, 5, 25), date(2023, 5, 26)) == [next_day]
    quote = Quote("AAPL", datetime(2023, 5, 24, 9, 30, tzinfo=NY), 171.0, 100, 171.02, 200)
    dm.store_quotes("AAPL", [quote])
    assert dm.get_quotes("AAPL", date(2023, 5, 24), date(2023, 5, 24)) == [quote]
