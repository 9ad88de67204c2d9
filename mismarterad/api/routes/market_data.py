"""Stored bars, as `mismarterad data export` gives them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from mismarterad.api.context import context
from mismarterad.api.errors import ApiError
from mismarterad.api.security import SignedIn
from mismarterad.core.errors import DataError
from mismarterad.core.intervals import parse_interval
from mismarterad.services.bar_export import export_record

__all__ = ["MAX_RANGE_DAYS", "router"]

router = APIRouter(tags=["market data"])
MAX_RANGE_DAYS = 366


@router.get("/market-data/bars", summary="bars of a symbol and interval over market-local dates [from, to]")
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
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ApiError(422, "invalid", f"to: at most {MAX_RANGE_DAYS} days from from ({start})", "to")
    control = context(request).control
    try:
        found = control.stored_bars(symbol.upper(), parsed.name, start, end)
    except DataError as exc:
        field = "symbol" if str(exc).startswith("symbol:") else "interval"
        raise ApiError(422, "invalid", str(exc), field) from None
    tz = control.time_manager.timezone
    return [export_record(b, tz) for b in found]
