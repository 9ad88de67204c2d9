"""Order requests and list queries as they come off the wire, checked field by field.

A bad body is Alpaca's 422 with a message naming the field, never a 500. Alpaca-py sends `qty`
and prices as JSON floats (`to_request_fields()`), so whole floats are accepted as share counts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from mismarterad.core.orders import Side
from mismarterad.integrations.venue_emulator.values import EmulatedOrderType, OrderError, OrderSpec, TimeInForce

__all__ = ["OrderQuery", "parse_order_query", "parse_order_spec", "parse_time"]

_MAX_CLIENT_ID = 128


class _OrderBody(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=False)

    symbol: str
    qty: float | None = None
    notional: float | None = None
    side: Side
    type: EmulatedOrderType
    time_in_force: TimeInForce
    limit_price: float | None = None
    stop_price: float | None = None
    client_order_id: str | None = None
    extended_hours: bool = False
    order_class: Literal["simple", ""] | None = None

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        if not value or not value.replace(".", "").isalnum():
            raise ValueError("must be a ticker symbol")
        return value.upper()


def parse_order_spec(body: Any) -> OrderSpec:
    """An OrderSpec from a POST /v2/orders body, or OrderError 422 naming the bad field."""
    if not isinstance(body, dict):
        raise OrderError(422, 40010000, "request body must be a JSON object")
    try:
        parsed = _OrderBody.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise OrderError(422, 40010000, f"{field}: {first['msg']}") from None
    if parsed.notional is not None:
        raise OrderError(422, 40010000, "notional: notional (fractional) orders are not emulated; send qty")
    if parsed.qty is None:
        raise OrderError(422, 40010000, "qty: qty is required")
    if parsed.qty <= 0 or parsed.qty != int(parsed.qty):
        raise OrderError(422, 40010000, f"qty: must be a positive whole number of shares, got {parsed.qty:g}")
    kind = parsed.type
    if kind in (EmulatedOrderType.LIMIT, EmulatedOrderType.STOP_LIMIT) and parsed.limit_price is None:
        raise OrderError(422, 40010000, "limit_price: required for limit and stop_limit orders")
    if kind in (EmulatedOrderType.STOP, EmulatedOrderType.STOP_LIMIT) and parsed.stop_price is None:
        raise OrderError(422, 40010000, "stop_price: required for stop and stop_limit orders")
    for name in ("limit_price", "stop_price"):
        value = getattr(parsed, name)
        if value is not None and not value > 0:
            raise OrderError(422, 40010000, f"{name}: must be > 0")
    client_id = parsed.client_order_id or str(uuid.uuid4())
    if len(client_id) > _MAX_CLIENT_ID:
        raise OrderError(422, 40010000, f"client_order_id: at most {_MAX_CLIENT_ID} characters")
    return OrderSpec(
        symbol=parsed.symbol, qty=int(parsed.qty), side=parsed.side, type=kind,
        time_in_force=parsed.time_in_force, client_order_id=client_id,
        limit_price=parsed.limit_price if kind in (EmulatedOrderType.LIMIT, EmulatedOrderType.STOP_LIMIT) else None,
        stop_price=parsed.stop_price if kind in (EmulatedOrderType.STOP, EmulatedOrderType.STOP_LIMIT) else None,
        extended_hours=parsed.extended_hours,
    )


class OrderQuery(BaseModel):
    """GET /v2/orders filters."""

    model_config = ConfigDict(frozen=True)

    status: Literal["open", "closed", "all"] = "open"
    limit: int = 50
    after: datetime | None = None
    until: datetime | None = None
    direction: Literal["asc", "desc"] = "desc"
    symbols: tuple[str, ...] = ()
    side: Side | None = None


def parse_order_query(params: dict[str, str]) -> OrderQuery:
    """The filters of an order list; OrderError 422 naming the parameter if one is bad."""
    values: dict[str, Any] = {k: v for k, v in params.items() if k in OrderQuery.model_fields}
    if "symbols" in values:
        values["symbols"] = tuple(s.strip().upper() for s in values["symbols"].split(",") if s.strip())
    for name in ("after", "until"):
        if name in values:
            values[name] = parse_time(name, values[name])
    try:
        query = OrderQuery.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise OrderError(422, 40010000, f"{first['loc'][0]}: {first['msg']}") from None
    if not 1 <= query.limit <= 500:
        raise OrderError(422, 40010000, "limit: must be between 1 and 500")
    return query


def parse_time(name: str, text: str) -> datetime:
    """An RFC 3339 instant of a query (naive = UTC, as alpaca-py means it), or a 422 naming it."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise OrderError(422, 40010000, f"{name}: not an RFC 3339 time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
