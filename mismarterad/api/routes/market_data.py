"""Stored bars, as `mismarterad data export` gives them.

At most MAX_BAR_ROWS rows a request, counted before anything is read (a trading day has at
most 16 hours of bars, extended hours included): a year of minute bars is `data export`'s job.
Reads run in a lane of two threads (api/lanes.py), so they never crowd out control.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from mismarterad.api.context import context
from mismarterad.api.errors import ApiError
from mismarterad.api.security import SignedIn
from mismarterad.integrations.http_server.lanes import in_lane
from mismarterad.core.errors import DataError
from mismarterad.core.intervals import Interval, parse_interval
from mismarterad.services.bar_export import export_record

__all__ = ["MAX_BAR_ROWS", "MAX_RANGE_DAYS", "max_days", "router"]

router = APIRouter(tags=["market data"])
MAX_RANGE_DAYS = 366
MAX_BAR_ROWS = 50_000
_MINUTES_A_DAY = 16 * 60  # 04:00 to 20:00, extended hours included


def max_days(interval: Interval) -> int:
    """How many calendar days of `interval` bars one request may ask for."""
    rows_a_day = 1 if interval.daily else math.ceil(_MINUTES_A_DAY / interval.minutes)
    return min(MAX_RANGE_DAYS, MAX_BAR_ROWS // rows_a_day)


@router.get("/market-data/bars", summary="bars of a symbol and interval over market-local dates [from, to]")
@in_lane("bars")
def bars(request: Request, _who: SignedIn,
         symbol: Annotated[str, Query(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9.\-]+$")],
         interval: Annotated[str, Query(max_length=10, description="1m, 5m, 15m, 1h, 1d or any Nm")],
         start: Annotated[date, Query(alias="from", description="YYYY-MM-DD")],
         end: Annotated[date, Query(alias="to", description="YYYY-MM-DD, included")]) -> list[dict[str, Any]]:
    try:
        parsed = parse_interval(interval)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"interval: {exc}", "interval") from None
    if end < start:
        raise ApiError(422, "invalid", f"to: {end} is before from {start}", "to")
    days = max_days(parsed)
    if (end - start).days >= days:
        raise ApiError(422, "invalid", f"to: at most {days} days of {parsed.name} bars from from ({start}); "
                                       "`mismarterad data export` gives more", "to")
    control = context(request).control
    try:
        found = control.stored_bars(symbol.upper(), parsed.name, start, end)
    except DataError as exc:
        field = "symbol" if str(exc).startswith("symbol:") else "interval"
        raise ApiError(422, "invalid", str(exc), field) from None
    tz = control.time_manager.timezone
    return [export_record(b, tz) for b in found]
