"""Pure translations between Schwab's JSON and ours: order specs out; orders (with their
executions), the account and its positions, price history candles and streamed CHART_EQUITY
bars in.

Timestamps become aware UTC here and nowhere else (Schwab writes `2024-03-11T13:31:00+0000`
and epoch milliseconds). Enums are mapped with an explicit `match`: a status or type this
module does not know is an error, never a default. Prices go out as strings (schwab-py warns
that floats are deprecated and truncates them): a price of $1 or more in whole cents, below $1
to 4 decimals; any other price is refused before the wire, so what is sent is what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from schwab.orders.common import Duration, EquityInstruction, OrderStrategyType, Session
from schwab.orders.common import OrderType as SchwabOrderType
from schwab.orders.generic import OrderBuilder

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import AccountSnapshot, OrderRequest, OrderStatus, OrderType, Position, Side
from mismarterad.integrations.venue_orders import Execution, VenueOrder

__all__ = [
    "PlacedOrder",
    "from_millis",
    "order_status",
    "parse_account",
    "parse_candles",
    "parse_chart_bar",
    "parse_order",
    "parse_positions",
    "parse_request",
    "price_refusal",
    "price_text",
    "reject_message",
    "to_schwab_order",
    "utc",
]


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """One order as Schwab lists it: what it is (`spec`: the request it stands for, with no
    client id, entered at `spec.submitted_utc`, Schwab's clock), its state in our terms, and its
    executions (each fill once, oldest first)."""

    order_id: str
    spec: OrderRequest
    status: OrderStatus
    venue_status: str
    filled_quantity: int
    executions: tuple[Execution, ...]
    updated_utc: datetime
    # of the one shape to_schwab_order sends (BUY/SELL, MARKET/MARKET_ON_CLOSE/LIMIT/STOP, DAY,
    # NORMAL): an order of another shape (SELL_SHORT, GTC, a trailing stop...) is never one of ours
    sendable: bool = True

    def report(self, client_order_id: str) -> VenueOrder:
        """The order's state as the order book takes it, under our id."""
        filled = self.filled_quantity
        shares = sum(e.quantity for e in self.executions)
        avg = sum(e.quantity * e.price for e in self.executions) / shares if shares else None
        filled_utc = self.executions[-1].ts_utc if self.executions else None
        # an average of fewer shares than the filled quantity would price the missing ones wrong:
        # none, until the executions listed cover every filled share
        return VenueOrder(self.order_id, client_order_id, self.status, filled, avg if filled and shares >= filled
                          else None, filled_utc, self.updated_utc, self.venue_status)


def price_text(price: float) -> str | None:
    """`price` as Schwab takes it (see the module docstring), None if it has no such form."""
    text = f"{price:.2f}" if price >= 1 else f"{price:.4f}"
    return text if abs(float(text) - price) < 1e-9 else None


def price_refusal(request: OrderRequest) -> str | None:
    """Why Schwab would refuse the request's price (whole cents from $1), None if it is fine."""
    for name, price in (("limit", request.limit_price), ("stop", request.stop_price)):
        if price is not None and price_text(price) is None:
            return f"a {name} price of $1 or more must be in whole cents (below $1: 4 decimals), got {price}"
    return None


def to_schwab_order(request: OrderRequest) -> dict[str, Any]:
    """The order spec for `request`: one equity leg, a day order in the regular session. A sell
    is Schwab's SELL (it closes a long position: this adapter does not sell short)."""
    instruction = EquityInstruction.BUY if request.side is Side.BUY else EquityInstruction.SELL
    builder = (OrderBuilder().set_session(Session.NORMAL).set_duration(Duration.DAY)
               .set_order_strategy_type(OrderStrategyType.SINGLE)
               .add_equity_leg(instruction, request.symbol, request.quantity))
    match request.type:
        case OrderType.MARKET:
            builder.set_order_type(SchwabOrderType.MARKET)
        case OrderType.MARKET_ON_CLOSE:
            builder.set_order_type(SchwabOrderType.MARKET_ON_CLOSE)
        case OrderType.LIMIT:
            assert request.limit_price is not None
            builder.set_order_type(SchwabOrderType.LIMIT).set_price(price_text(request.limit_price))
        case OrderType.STOP:
            assert request.stop_price is not None
            builder.set_order_type(SchwabOrderType.STOP).set_stop_price(price_text(request.stop_price))
        case _:
            raise ValueError(f"unknown order type {request.type!r}")
    return builder.build()  # type: ignore[no-any-return]


def order_status(status: str) -> OrderStatus:
    """Our status for Schwab's. Every state before an end is ACCEPTED (parse_order makes one
    with shares filled PARTIALLY_FILLED): the awaiting ones, QUEUED (taken outside the session,
    worked at the next open), the pending cancel/replace ones (they may still fill), and UNKNOWN
    (Schwab does not know yet: it is read again later). REPLACED is CANCELED (we never replace,
    so no successor is ours)."""
    match status:
        case ("AWAITING_PARENT_ORDER" | "AWAITING_CONDITION" | "AWAITING_STOP_CONDITION" | "AWAITING_MANUAL_REVIEW"
              | "ACCEPTED" | "AWAITING_UR_OUT" | "PENDING_ACTIVATION" | "QUEUED" | "WORKING" | "PENDING_CANCEL"
              | "PENDING_REPLACE" | "NEW" | "AWAITING_RELEASE_TIME" | "PENDING_ACKNOWLEDGEMENT" | "PENDING_RECALL"
              | "UNKNOWN"):
            return OrderStatus.ACCEPTED
        case "FILLED":
            return OrderStatus.FILLED
        case "CANCELED" | "REPLACED":
            return OrderStatus.CANCELED
        case "EXPIRED":
            return OrderStatus.EXPIRED
        case "REJECTED":
            return OrderStatus.REJECTED
    raise ValueError(f"unknown Schwab order status {status!r}")


def _order_type(kind: str, duration: str) -> OrderType:
    match kind:
        case "MARKET":
            return OrderType.MARKET
        case "MARKET_ON_CLOSE":
            return OrderType.MARKET_ON_CLOSE
        case "LIMIT" | "LIMIT_ON_CLOSE":
            return OrderType.LIMIT
        case "STOP" | "STOP_LIMIT" | "TRAILING_STOP" | "TRAILING_STOP_LIMIT":
            return OrderType.STOP
    raise ValueError(f"unknown Schwab order type {kind!r} (duration {duration})")


def _side(instruction: str) -> Side:
    match instruction:
        case "BUY" | "BUY_TO_COVER":
            return Side.BUY
        case "SELL" | "SELL_SHORT":
            return Side.SELL
    raise ValueError(f"unknown Schwab equity instruction {instruction!r}")


def parse_order(raw: Mapping[str, Any]) -> PlacedOrder:
    """One order of `get_order` / `get_orders_for_account`; ValueError if it is not a single-leg
    equity order this module can read."""
    try:
        legs = raw["orderLegCollection"]
        if len(legs) != 1:
            raise ValueError(f"{len(legs)} legs (one is expected)")
        leg = legs[0]
        symbol = str(leg["instrument"]["symbol"])
        side = _side(str(leg["instruction"]))
        quantity = _shares(raw.get("quantity", leg.get("quantity")))
        type_ = _order_type(str(raw["orderType"]), str(raw.get("duration", "")))
        venue_status = str(raw["status"])
        status = order_status(venue_status)
        filled = _shares(raw.get("filledQuantity"))
        entered = utc(str(raw["enteredTime"]))
        executions = _executions(raw.get("orderActivityCollection") or ())
        limit = _price(raw.get("price")) if type_ is OrderType.LIMIT or raw["orderType"] == "STOP_LIMIT" else None
        stop = _price(raw.get("stopPrice")) if type_ is OrderType.STOP else None
        order_id = str(int(raw["orderId"]))
    except (KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"a Schwab order without {exc}") from None
    if status is OrderStatus.ACCEPTED and filled > 0:  # a working order with shares filled, whatever it is called
        status = OrderStatus.PARTIALLY_FILLED
    times = [entered, *(e.ts_utc for e in executions)]
    if raw.get("closeTime"):
        times.append(utc(str(raw["closeTime"])))
    spec = OrderRequest("", symbol, side, quantity, type_, limit, stop, entered)
    sendable = (leg.get("instruction") in _SENT_INSTRUCTIONS and raw.get("orderType") in _SENT_TYPES
                and raw.get("duration", "DAY") == "DAY" and raw.get("session", "NORMAL") == "NORMAL")  # absent: unknown
    return PlacedOrder(order_id, spec, status, venue_status, filled, executions, max(times), sendable)


_SENT_INSTRUCTIONS = frozenset({"BUY", "SELL"})
_SENT_TYPES = frozenset({"MARKET", "MARKET_ON_CLOSE", "LIMIT", "STOP"})


def _executions(activities: Any) -> tuple[Execution, ...]:
    """Each execution leg once (a repeated activity id counts once), oldest first."""
    out: dict[str, Execution] = {}
    for activity in activities:
        if activity.get("activityType") != "EXECUTION":
            continue
        activity_id = str(activity.get("activityId", ""))
        for leg in activity.get("executionLegs") or ():
            execution_id = f"{activity_id}.{leg.get('legId', 1)}" if activity_id else ""
            quantity = _shares(leg.get("quantity"))
            price = _price(leg.get("price"))
            if not execution_id or quantity <= 0 or price is None:
                raise ValueError("an execution without its activity id, quantity or price")
            out.setdefault(execution_id, Execution(execution_id, quantity, price, utc(str(leg["time"]))))
    return tuple(sorted(out.values(), key=lambda e: (e.ts_utc, _number(e.execution_id))))


def _number(execution_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in execution_id.split("."))


def parse_request(placed: PlacedOrder, client_order_id: str) -> OrderRequest:
    """The request an order at Schwab stands for (one a restart adopts, or another client's:
    strategy "")."""
    return replace(placed.spec, client_order_id=client_order_id)


def parse_account(raw: Mapping[str, Any]) -> AccountSnapshot:
    """`get_account(hash, fields=[POSITIONS])`: cash and liquidation value of the current balances."""
    try:
        account = raw["securitiesAccount"]
        balances = account["currentBalances"]
        cash = float(balances["cashBalance"])
        equity = float(balances.get("liquidationValue", cash))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a Schwab account without {exc}") from None
    trips = account.get("roundTrips")
    return AccountSnapshot(cash=cash, equity=equity, positions_value=equity - cash,
                           day_trade_count=int(trips) if trips is not None else None)


def parse_positions(raw: Mapping[str, Any]) -> list[Position]:
    """The account's positions, net shares (long less short), by symbol."""
    out = []
    try:
        for p in raw["securitiesAccount"].get("positions") or ():
            quantity = _shares(p.get("longQuantity")) - _shares(p.get("shortQuantity"))
            if quantity:
                out.append(Position(str(p["instrument"]["symbol"]), quantity, float(p.get("averagePrice") or 0.0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a Schwab position without {exc}") from None
    return sorted(out, key=lambda p: p.symbol)


def parse_candles(raw: Mapping[str, Any], symbol: str, interval: str) -> list[Bar]:
    """`get_price_history*` of `symbol`: each candle (`datetime` = its start, epoch ms) as our
    bar; ValueError if the answer is of another symbol or has a bad candle."""
    if str(raw.get("symbol", symbol)).upper() != symbol.upper():
        raise ValueError(f"the history of {raw.get('symbol')!r}, not {symbol!r}")
    try:
        return [Bar(symbol, interval, from_millis(c["datetime"]), float(c["open"]), float(c["high"]),
                    float(c["low"]), float(c["close"]), int(c["volume"]))
                for c in raw.get("candles") or ()]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a Schwab candle without {exc}") from None


def parse_chart_bar(content: Mapping[str, Any]) -> Bar:
    """One CHART_EQUITY item as schwab-py's handler sees it (fields named): a 1-minute bar
    labelled by its start (CHART_TIME_MILLIS)."""
    try:
        return Bar(str(content.get("key") or content["SYMBOL"]), "1m", from_millis(content["CHART_TIME_MILLIS"]),
                   float(content["OPEN_PRICE"]), float(content["HIGH_PRICE"]), float(content["LOW_PRICE"]),
                   float(content["CLOSE_PRICE"]), int(content["VOLUME"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a CHART_EQUITY item without {exc}") from None


def reject_message(raw: Any) -> str:
    """Schwab's error `message` (with its first `errors` entry), short; never the body itself."""
    if not isinstance(raw, Mapping):
        return "(no message)"
    message = raw.get("message") or raw.get("error_description") or raw.get("error") or "(no message)"
    errors = raw.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        detail = first.get("detail") or first.get("title") if isinstance(first, Mapping) else first
        if detail and str(detail) not in str(message):
            message = f"{message}: {detail}"
    return str(message)[:200]


def utc(text: str) -> datetime:
    """Schwab's `2024-03-11T13:31:00+0000` (or an ISO time with `Z`) as aware UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def from_millis(ms: Any) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _price(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def _shares(value: Any) -> int:
    if value in (None, ""):
        return 0
    return int(round(float(value)))
