"""Bars as `mismarterad data export` writes them and the REST API's market-data route returns them:
one record per bar, the start in exchange-local time, prices as the store holds them."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from mismarterad.core.market_data import Bar, format_price

__all__ = ["EXPORT_COLUMNS", "export_csv_row", "export_record"]

EXPORT_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


def export_record(bar: Bar, tz: tzinfo) -> dict[str, Any]:
    """The bar as a JSON record; a price's JSON number reads back as the CSV's text does."""
    return {"timestamp": bar.start_utc.astimezone(tz).isoformat(), "open": bar.open, "high": bar.high,
            "low": bar.low, "close": bar.close, "volume": bar.volume}


def export_csv_row(bar: Bar, tz: tzinfo) -> list[Any]:
    record = export_record(bar, tz)
    return [record["timestamp"], *(format_price(record[c]) for c in EXPORT_COLUMNS[1:5]), record["volume"]]
