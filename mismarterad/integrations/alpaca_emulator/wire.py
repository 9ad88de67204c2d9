"""JSON shapes as Alpaca sends them: quantities and money as strings, RFC 3339 UTC `Z` times.

Every dict here parses with alpaca-py 0.44's models (Order, Position, TradeAccount, Clock,
Calendar, Bar, TradeUpdate); `tests/protocol` proves it through the real clients.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgpack

from mismarterad.core.market_data import Bar
from mismarterad.integrations.venue_emulator.account import Account
from mismarterad.integrations.venue_emulator.sessions import NEW_YORK, Session
from mismarterad.integrations.venue_emulator.values import EmulatedOrder, Position, TradeUpdate, money

__all__ = [
    "account_json",
    "bar_json",
    "bar_message",
    "calendar_json",
    "clock_json",
    "error_json",
    "order_json",
    "position_json",
    "rfc3339",
    "trade_update_json",
]

ACCOUNT_ID = "a1b2c3d4-0000-4000-8000-00000000e001"
ACCOUNT_NUMBER = "PAEMULATOR"


def rfc3339(t: datetime | None) -> str | None:
    """UTC with microseconds and a `Z`, like Alpaca's order times."""
    if t is None:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error_json(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def order_json(order: EmulatedOrder) -> dict[str, Any]:
    spec = order.spec
    # a stable asset id per symbol: clients may key on it
    asset_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-emulator/{spec.symbol}"))
    return {
        "id": order.id,
        "client_order_id": spec.client_order_id,
        "created_at": rfc3339(order.created_utc),
        "updated_at": rfc3339(order.updated_utc),
        "submitted_at": rfc3339(order.created_utc),
        "filled_at": rfc3339(order.filled_utc) if order.status == "filled" else None,
        "expired_at": rfc3339(order.expired_utc),
        "canceled_at": rfc3339(order.canceled_utc),
        "failed_at": rfc3339(order.failed_utc),
        "replaced_at": None,
        "replaced_by": None,
        "replaces": None,
        "asset_id": asset_id,
        "symbol": spec.symbol,
        "asset_class": "us_equity",
        "notional": None,
        "qty": str(spec.qty),
        "filled_qty": str(order.filled_qty),
        "filled_avg_price": money(order.filled_avg_price),
        "order_class": "simple",
        "order_type": str(spec.type),
        "type": str(spec.type),
        "side": str(spec.side),
        "position_intent": None,
        "time_in_force": str(spec.time_in_force),
        "limit_price": money(spec.limit_price),
        "stop_price": money(spec.stop_price),
        "status": str(order.status),
        "extended_hours": spec.extended_hours,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
        "commission": "0",
        "subtag": None,
        "source": None,
    }


def position_json(position: Position, mark_price: float) -> dict[str, Any]:
    cost = position.qty * position.avg_entry_price
    value = position.qty * mark_price
    pl = value - cost
    return {
        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-emulator/{position.symbol}")),
        "symbol": position.symbol,
        "exchange": "",  # the store does not know listings
        "asset_class": "us_equity",
        "asset_marginable": True,
        "avg_entry_price": money(position.avg_entry_price),
        "qty": str(position.qty),
        "qty_available": str(position.qty),
        "side": "long" if position.qty > 0 else "short",
        "market_value": money(value),
        "cost_basis": money(cost),
        "unrealized_pl": money(pl),
        "unrealized_plpc": money(pl / abs(cost)) if cost else "0",
        "current_price": money(mark_price),
    }


def account_json(account: Account, created_utc: datetime) -> dict[str, Any]:
    equity = account.equity()
    cash, bp = money(account.cash), money(account.buying_power())
    return {
        "id": ACCOUNT_ID,
        "account_number": ACCOUNT_NUMBER,
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": "USD",
        "cash": cash,
        "buying_power": bp,
        "regt_buying_power": bp,
        "daytrading_buying_power": bp,
        "non_marginable_buying_power": bp,
        "equity": money(equity),
        "last_equity": money(equity),
        "portfolio_value": money(equity),
        "long_market_value": money(account.long_market_value()),
        "short_market_value": money(account.short_market_value()),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "multiplier": "1",
        "daytrade_count": 0,
        "pattern_day_trader": False,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "shorting_enabled": True,
        "accrued_fees": "0",
        "created_at": rfc3339(created_utc),
    }


def clock_json(now_utc: datetime, current_or_next: Session, following: Session) -> dict[str, Any]:
    """`/v2/clock`: New York times with their offset, as Alpaca sends them."""
    is_open = current_or_next.open_utc <= now_utc
    next_open = following.open_utc if is_open else current_or_next.open_utc
    return {
        "timestamp": now_utc.astimezone(NEW_YORK).isoformat(),
        "is_open": is_open,
        "next_open": next_open.astimezone(NEW_YORK).isoformat(),
        "next_close": current_or_next.close_utc.astimezone(NEW_YORK).isoformat(),
    }


def calendar_json(session: Session) -> dict[str, Any]:
    def local(t: datetime, fmt: str) -> str:
        return t.astimezone(NEW_YORK).strftime(fmt)

    return {
        "date": session.day.isoformat(),
        "open": local(session.open_utc, "%H:%M"),
        "close": local(session.close_utc, "%H:%M"),
        "session_open": local(session.pre_open_utc, "%H%M"),
        "session_close": local(session.post_close_utc, "%H%M"),
        "settlement_date": None,
    }


def bar_json(bar: Bar) -> dict[str, Any]:
    """A historical bar. The store has no trade count or VWAP: n = 0, vw = (h + l + c) / 3."""
    return {"t": bar.start_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **_bar_values(bar)}


def bar_message(bar: Bar) -> dict[str, Any]:
    """A streamed minute bar: `t` as a msgpack Timestamp, as the SDK reads it."""
    return {"T": "b", "S": bar.symbol, "t": msgpack.Timestamp.from_datetime(bar.start_utc), **_bar_values(bar)}


def _bar_values(bar: Bar) -> dict[str, Any]:
    return {"o": bar.open, "h": bar.high, "l": bar.low, "c": bar.close, "v": bar.volume, "n": 0,
            "vw": round((bar.high + bar.low + bar.close) / 3, 4)}


def trade_update_json(update: TradeUpdate) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event": update.event,
        "order": order_json(update.order),
        "timestamp": rfc3339(update.timestamp_utc),
        "position_qty": str(update.position_qty),
    }
    if update.execution_id is not None:
        data.update(execution_id=update.execution_id, price=money(update.price), qty=str(update.qty))
    return {"stream": "trade_updates", "data": data}
