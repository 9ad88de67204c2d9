"""JSON shapes as Schwab's trader and market-data APIs send them (schwab-py reads them raw).

Quantities are floats, times `2024-03-11T13:31:00+0000` (UTC) or epoch milliseconds, an order's
fills are its `orderActivityCollection` of EXECUTION activities. The emulated account's words
(Alpaca's, venue_emulator/values.py) become Schwab's here: an order taken outside the session
is QUEUED, a working one WORKING; a sell that may only close a position is SELL (else
SELL_SHORT), a buy that may only close one BUY_TO_COVER.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Side
from mismarterad.integrations.venue_emulator.account import Account
from mismarterad.integrations.venue_emulator.sessions import NEW_YORK, Session
from mismarterad.integrations.venue_emulator.values import (
    EmulatedOrder,
    EmulatedOrderType,
    OrderStatus,
    Position,
    TimeInForce,
)

__all__ = [
    "ORDER_HOST",
    "account_hash",
    "account_json",
    "candles_json",
    "customer_id",
    "error_json",
    "instruction",
    "market_hours_json",
    "millis",
    "order_json",
    "order_location",
    "preferences_json",
    "schwab_time",
]

ORDER_HOST = "https://api.schwabapi.com"  # the host of Location headers: schwab-py accepts no other

_STATUS = {OrderStatus.ACCEPTED: "QUEUED", OrderStatus.NEW: "WORKING", OrderStatus.PARTIALLY_FILLED: "WORKING",
           OrderStatus.FILLED: "FILLED", OrderStatus.CANCELED: "CANCELED", OrderStatus.EXPIRED: "EXPIRED",
           OrderStatus.REJECTED: "REJECTED"}
_DURATION = {TimeInForce.DAY: "DAY", TimeInForce.CLS: "DAY", TimeInForce.GTC: "GOOD_TILL_CANCEL",
             TimeInForce.FOK: "FILL_OR_KILL", TimeInForce.IOC: "IMMEDIATE_OR_CANCEL", TimeInForce.OPG: "DAY"}


def account_hash(account_number: str) -> str:
    """The emulated account's stable hash value (Schwab's are 64 hex digits)."""
    return hashlib.sha256(f"schwab-emulator/{account_number}".encode()).hexdigest().upper()


def customer_id(account_number: str) -> str:
    """The streamer's customer id the user preferences name (LOGIN must send it back)."""
    return f"emulator-{account_hash(account_number)[:12].lower()}"


def schwab_time(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def millis(t: datetime) -> int:
    return int(round(t.timestamp() * 1000))


def error_json(message: str) -> dict[str, Any]:
    return {"message": message, "errors": [message]}


def order_location(account: str, order_id: str) -> str:
    return f"{ORDER_HOST}/trader/v1/accounts/{account}/orders/{order_id}"


def instruction(side: Side, closing_only: bool) -> str:
    if side is Side.BUY:
        return "BUY_TO_COVER" if closing_only else "BUY"
    return "SELL" if closing_only else "SELL_SHORT"


def _order_type(order: EmulatedOrder) -> str:
    spec = order.spec
    at_close = spec.time_in_force is TimeInForce.CLS
    match spec.type:
        case EmulatedOrderType.MARKET:
            return "MARKET_ON_CLOSE" if at_close else "MARKET"
        case EmulatedOrderType.LIMIT:
            return "LIMIT_ON_CLOSE" if at_close else "LIMIT"
        case EmulatedOrderType.STOP:
            return "STOP"
        case EmulatedOrderType.STOP_LIMIT:
            return "STOP_LIMIT"
    raise ValueError(f"no Schwab order type for {spec.type!r}")


def order_json(order: EmulatedOrder, account_number: str, *, newest_first: bool = False,
               repeat: bool = False) -> dict[str, Any]:
    """An order as `get_order` answers it. `newest_first` / `repeat`: the injected faults
    `out_of_order_updates` / `duplicate_updates` applied to its activity list."""
    spec = order.spec
    status = _STATUS[order.status]
    closed = order.canceled_utc or order.expired_utc or order.failed_utc or (
        order.filled_utc if order.status is OrderStatus.FILLED else None)
    activities = []
    remaining = spec.qty
    for execution in order.executions:
        remaining -= execution.qty
        activities.append({
            "activityType": "EXECUTION", "activityId": int(execution.id), "executionType": "FILL",
            "quantity": float(execution.qty), "orderRemainingQuantity": float(remaining),
            "executionLegs": [{"legId": 1, "quantity": float(execution.qty), "mismarkedQuantity": 0.0,
                               "price": execution.price, "time": schwab_time(execution.ts_utc), "instrumentId": 0}],
        })
    if newest_first:
        activities.reverse()
    if repeat:
        activities += activities
    body: dict[str, Any] = {
        "session": "SEAMLESS" if spec.extended_hours else "NORMAL",
        "duration": _DURATION[spec.time_in_force],
        "orderType": _order_type(order),
        "complexOrderStrategyType": "NONE",
        "quantity": float(spec.qty),
        "filledQuantity": float(order.filled_qty),
        "remainingQuantity": float(order.remaining_qty),
        "requestedDestination": "AUTO",
        "destinationLinkName": "EMULATOR",
        "orderLegCollection": [{
            "orderLegType": "EQUITY", "legId": 1,
            "instrument": {"assetType": "EQUITY", "cusip": "", "symbol": spec.symbol, "instrumentId": 0},
            "instruction": instruction(spec.side, spec.closing_only),
            "positionEffect": "CLOSING" if spec.closing_only else "OPENING",
            "quantity": float(spec.qty),
        }],
        "orderStrategyType": "SINGLE",
        "orderId": int(order.id),
        "cancelable": order.is_open,
        "editable": False,
        "status": status,
        "enteredTime": schwab_time(order.created_utc),
        "tag": "API_EMULATOR",
        "accountNumber": int(account_number),
    }
    if spec.limit_price is not None:
        body["price"] = spec.limit_price
    if spec.stop_price is not None:
        body["stopPrice"] = spec.stop_price
    if closed is not None:
        body["closeTime"] = schwab_time(closed)
    if order.status is OrderStatus.REJECTED:
        body["statusDescription"] = "rejected by the emulator (an injected fault)"
    if activities:
        body["orderActivityCollection"] = activities
    return body


def _position_json(position: Position, mark: float) -> dict[str, Any]:
    long_qty, short_qty = max(position.qty, 0), max(-position.qty, 0)
    value = position.qty * mark
    return {
        "shortQuantity": float(short_qty), "averagePrice": position.avg_entry_price,
        "currentDayProfitLoss": round(value - position.qty * position.avg_entry_price, 6),
        "currentDayProfitLossPercentage": 0.0, "longQuantity": float(long_qty),
        "settledLongQuantity": float(long_qty), "settledShortQuantity": float(short_qty),
        "instrument": {"assetType": "EQUITY", "cusip": "", "symbol": position.symbol, "netChange": 0.0},
        "marketValue": round(value, 6), "maintenanceRequirement": 0.0,
        "averageLongPrice": position.avg_entry_price if long_qty else 0.0,
        "averageShortPrice": position.avg_entry_price if short_qty else 0.0,
        "previousSessionLongQuantity": 0.0,
    }


def account_json(account: Account, account_number: str, with_positions: bool) -> dict[str, Any]:
    equity, cash = account.equity(), account.cash
    balances = {"cashBalance": round(cash, 6), "liquidationValue": round(equity, 6),
                "longMarketValue": round(account.long_market_value(), 6),
                "shortMarketValue": round(account.short_market_value(), 6),
                "buyingPower": round(account.buying_power(), 6), "availableFunds": round(account.buying_power(), 6),
                "equity": round(equity, 6), "accruedInterest": 0.0, "moneyMarketFund": 0.0, "savings": 0.0}
    body: dict[str, Any] = {
        "type": "MARGIN", "accountNumber": account_number, "roundTrips": 0, "isDayTrader": False,
        "isClosingOnlyRestricted": False, "pfcbFlag": False,
        "initialBalances": dict(balances), "currentBalances": balances, "projectedBalances": dict(balances),
    }
    if with_positions:
        body["positions"] = [_position_json(p, account.mark_price(p.symbol)) for _, p in sorted(account.positions.items())]
    return {"securitiesAccount": body,
            "aggregatedBalance": {"currentLiquidationValue": round(equity, 6), "liquidationValue": round(equity, 6)}}


def preferences_json(account_number: str, stream_url: str, customer_id: str) -> dict[str, Any]:
    return {
        "accounts": [{"accountNumber": account_number, "primaryAccount": True, "type": "BROKERAGE",
                      "nickName": "Emulated", "displayAcctId": f"...{account_number[-3:]}", "autoPositionEffect": False,
                      "accountColor": "Green"}],
        "streamerInfo": [{"streamerSocketUrl": stream_url, "schwabClientCustomerId": customer_id,
                          "schwabClientCorrelId": f"{customer_id}-correl", "schwabClientChannel": "N9",
                          "schwabClientFunctionId": "APIAPP"}],
        "offers": [{"level2Permissions": False, "mktDataPermission": "NP"}],
    }


def market_hours_json(day: date, session: Session | None) -> dict[str, Any]:
    """`get_market_hours([EQUITY], date=day)`: the equity market's hours that day (New York offsets)."""
    if session is None:
        return {"equity": {"equity": {"date": day.isoformat(), "marketType": "EQUITY", "product": "equity",
                                      "productName": "equity", "isOpen": False}}}

    def span(start: datetime, end: datetime) -> list[dict[str, str]]:
        return [{"start": start.astimezone(NEW_YORK).isoformat(), "end": end.astimezone(NEW_YORK).isoformat()}]

    return {"equity": {"EQ": {
        "date": day.isoformat(), "marketType": "EQUITY", "product": "EQ", "productName": "equity", "isOpen": True,
        "sessionHours": {"preMarket": span(session.pre_open_utc, session.open_utc),
                         "regularMarket": span(session.open_utc, session.close_utc),
                         "postMarket": span(session.close_utc, session.post_close_utc)}}}}


def candles_json(symbol: str, bars: Sequence[Bar]) -> dict[str, Any]:
    return {"symbol": symbol, "empty": not bars,
            "candles": [{"open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume,
                         "datetime": millis(b.start_utc)} for b in bars]}
