"""Alpaca wire values for the adapter's unit tests: orders and trade updates as the SDK parses them."""

from __future__ import annotations

from typing import Any

from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import TradeUpdate

ORDER_ID = "6f1c3b8e-1111-4a4a-9a9a-123456789abc"


def execution(n: int) -> str:
    """Execution ids are UUIDs on the wire."""
    return f"00000000-0000-4000-8000-{n:012d}"


def alpaca_order(status: str, filled: int = 0, avg: float | None = None, *, cid: str = "o000001",
                 updated: str = "2024-03-11T13:31:00Z", qty: int = 10, type_: str = "market") -> AlpacaOrder:
    body: dict[str, Any] = {
        "id": ORDER_ID, "client_order_id": cid, "created_at": "2024-03-11T13:30:00Z", "updated_at": updated,
        "submitted_at": "2024-03-11T13:30:00Z", "symbol": "AAPL", "asset_class": "us_equity", "qty": str(qty),
        "filled_qty": str(filled), "filled_avg_price": None if avg is None else str(avg), "order_type": type_,
        "type": type_, "side": "buy", "time_in_force": "day", "status": status, "extended_hours": False,
    }
    if filled:
        body["filled_at"] = updated
    return AlpacaOrder(**body)


def trade_update(event: str, order: AlpacaOrder, ts: str, *, execution_id: str | None = None,
                 qty: int | None = None, price: float | None = None) -> TradeUpdate:
    body: dict[str, Any] = {"event": event, "order": order, "timestamp": ts}
    if execution_id is not None:
        body.update(execution_id=execution_id, qty=str(qty), price=str(price))
    return TradeUpdate(**body)
