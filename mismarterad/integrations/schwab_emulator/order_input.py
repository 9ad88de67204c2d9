"""Order specs and order queries as they come off Schwab's wire, checked field by field.

A bad body is Schwab's 400 with a message naming the field, never a 500. Only what the
adapters send and a person's simple orders are emulated: one equity leg (BUY, SELL,
SELL_SHORT, BUY_TO_COVER), a SINGLE strategy, MARKET / LIMIT / STOP / STOP_LIMIT /
MARKET_ON_CLOSE / LIMIT_ON_CLOSE, DAY / GOOD_TILL_CANCEL / FILL_OR_KILL /
IMMEDIATE_OR_CANCEL, in the NORMAL session (SEAMLESS, AM and PM also fill in extended
hours). SELL and BUY_TO_COVER may only close a position (the account refuses more).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mismarterad.core.orders import Side
from mismarterad.integrations.venue_emulator.values import EmulatedOrderType, OrderError, OrderSpec, TimeInForce

__all__ = ["parse_order_spec", "query_time"]

_TYPES = {"MARKET": (EmulatedOrderType.MARKET, False), "LIMIT": (EmulatedOrderType.LIMIT, False),
          "STOP": (EmulatedOrderType.STOP, False), "STOP_LIMIT": (EmulatedOrderType.STOP_LIMIT, False),
          "MARKET_ON_CLOSE": (EmulatedOrderType.MARKET, True), "LIMIT_ON_CLOSE": (EmulatedOrderType.LIMIT, True)}
_DURATIONS = {"DAY": TimeInForce.DAY, "GOOD_TILL_CANCEL": TimeInForce.GTC, "FILL_OR_KILL": TimeInForce.FOK,
              "IMMEDIATE_OR_CANCEL": TimeInForce.IOC}
_INSTRUCTIONS = {"BUY": (Side.BUY, False), "BUY_TO_COVER": (Side.BUY, True), "SELL": (Side.SELL, True),
                 "SELL_SHORT": (Side.SELL, False)}
_SESSIONS = {"NORMAL": False, "SEAMLESS": True, "AM": True, "PM": True}


def _bad(message: str) -> OrderError:
    return OrderError(400, 40010000, message)


def parse_order_spec(body: Any) -> OrderSpec:
    """An OrderSpec from a POST orders body, or OrderError 400 naming the bad field."""
    if not isinstance(body, dict):
        raise _bad("the order must be a JSON object")
    if body.get("orderStrategyType", "SINGLE") != "SINGLE":
        raise _bad("orderStrategyType: only SINGLE orders are emulated")
    legs = body.get("orderLegCollection")
    if not isinstance(legs, list) or len(legs) != 1 or not isinstance(legs[0], dict):
        raise _bad("orderLegCollection: exactly one leg is emulated")
    leg = legs[0]
    instrument = leg.get("instrument") if isinstance(leg.get("instrument"), dict) else {}
    if instrument.get("assetType") != "EQUITY":
        raise _bad("orderLegCollection[0].instrument.assetType: only EQUITY is emulated")
    symbol = str(instrument.get("symbol") or "").upper()
    if not symbol or not symbol.replace(".", "").isalnum():
        raise _bad("orderLegCollection[0].instrument.symbol: a ticker symbol is required")
    side, closing = _choice(_INSTRUCTIONS, leg.get("instruction"), "orderLegCollection[0].instruction")
    quantity = _number(leg.get("quantity"), "orderLegCollection[0].quantity")
    if quantity <= 0 or quantity != int(quantity):
        raise _bad(f"orderLegCollection[0].quantity: must be a positive whole number of shares, got {quantity:g}")
    kind, at_close = _choice(_TYPES, body.get("orderType"), "orderType")
    tif = _choice(_DURATIONS, body.get("duration", "DAY"), "duration")
    if at_close:
        if tif is not TimeInForce.DAY:
            raise _bad("duration: an on-close order is a DAY order")
        tif = TimeInForce.CLS
    extended = _choice(_SESSIONS, body.get("session", "NORMAL"), "session")
    limit = _number(body.get("price"), "price") if kind in (EmulatedOrderType.LIMIT, EmulatedOrderType.STOP_LIMIT) else None
    stop = _number(body.get("stopPrice"), "stopPrice") if kind in (EmulatedOrderType.STOP, EmulatedOrderType.STOP_LIMIT) \
        else None
    for name, value in (("price", limit), ("stopPrice", stop)):
        if value is not None and not value > 0:
            raise _bad(f"{name}: must be > 0")
    return OrderSpec(symbol=symbol, qty=int(quantity), side=side, type=kind, time_in_force=tif,
                     client_order_id=uuid.uuid4().hex, limit_price=limit, stop_price=stop, extended_hours=extended,
                     closing_only=closing)


def _choice(table: dict[str, Any], value: Any, field: str) -> Any:
    if value not in table:
        raise _bad(f"{field}: {value!r} is not one of {', '.join(table)}")
    return table[value]


def _number(value: Any, field: str) -> float:
    if value is None or isinstance(value, bool):
        raise _bad(f"{field}: required")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"{field}: not a number: {value!r}") from None


def query_time(name: str, text: str | None) -> datetime:
    """An order query's `fromEnteredTime` / `toEnteredTime` (`yyyy-MM-ddTHH:mm:ss.SSSZ`), or a 400."""
    if not text:
        raise _bad(f"{name}: required (the orders of a period are asked for)")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{name}: not an ISO-8601 time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
