"""Market-data values: created once, shared by reference, never edited.

Timestamps are aware UTC datetimes (`*_utc`); only TimeManager and DataManager convert
them to market time, at the edges (CLI output, reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Bar", "Quote", "Tick", "format_price"]


@dataclass(frozen=True, slots=True)
class Bar:
    """An OHLCV bar labelled by the start of its window (`09:30` covers 09:30:00-09:30:59)."""

    symbol: str
    interval: str
    start_utc: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and offer at one instant."""

    symbol: str
    ts_utc: datetime
    bid: float
    bid_size: int
    ask: float
    ask_size: int


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade print."""

    symbol: str
    ts_utc: datetime
    price: float
    size: int


def format_price(value: float) -> str:
    """Shortest text that reads back as the same float, without a trailing ``.0``.

    Exports and reports print prices this way so that a stored ``127`` comes out as ``127``,
    exactly as the source file had it, and no float noise is ever added.
    """
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
