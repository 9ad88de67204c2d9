"""Pure translations between alpaca-py's models and ours: order requests out; orders, trade
updates, bars, positions and the account in.

Timestamps become aware UTC here and nowhere else. Enums are mapped with an explicit `match`: a
status this module does not know is an error, never a default.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alpaca.data.models import Bar as AlpacaBar
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading import enums as alpaca_enums
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.models import TradeAccount, TradeUpdate
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest, StopOrderRequest
from alpaca.trading.requests import OrderRequest as AlpacaOrderRequest

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import AccountSnapshot, OrderRequest, OrderStatus, OrderType, Position, Side
from mismarterad.integrations.venue_orders import Execution, TradeEvent, VenueOrder

__all__ = [
    "is_duplicate_client_order_id",
    "order_status",
    "parse_account",
    "parse_bar",
    "parse_order",
    "parse_position",
    "parse_request",
    "parse_trade_update",
    "timeframe",
    "to_alpaca_request",
    "utc",
]


def utc(t: datetime) -> datetime:
    """Aware UTC; alpaca-py leaves a timestamp naive only when the venue sent no offset (UTC)."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def to_alpaca_request(request: OrderRequest) -> AlpacaOrderRequest:
    """The SDK request for `request`: a day order, or a market-on-close (time in force `cls`)."""
    side = alpaca_enums.OrderSide.BUY if request.side is Side.BUY else alpaca_enums.OrderSide.SELL
    common = {"symbol": request.symbol, "qty": request.quantity, "side": side,
              "client_order_id": request.client_order_id}
    day = alpaca_enums.TimeInForce.DAY
    match request.type:
        case OrderType.MARKET:
            return MarketOrderRequest(**common, time_in_force=day)
        case OrderType.MARKET_ON_CLOSE:
            return MarketOrderRequest(**common, time_in_force=alpaca_enums.TimeInForce.CLS)
        case OrderType.LIMIT:
            return LimitOrderRequest(**common, time_in_force=day, limit_price=request.limit_price)
        case OrderType.STOP:
            return StopOrderRequest(**common, time_in_force=day, stop_price=request.stop_price)
    raise ValueError(f"unknown order type {request.type!r}")


def order_status(status: alpaca_enums.OrderStatus | str) -> OrderStatus:
    """Our status for Alpaca's. Working orders are ACCEPTED (parse_order makes one with shares
    filled PARTIALLY_FILLED): that includes `pending_cancel`/`pending_replace` (they may still
    fill) and `stopped`/`suspended`/`calculated`/`held` (not ended; a later report says how it
    ends). `done_for_day` is EXPIRED: we send day orders only, and it gets no more fills today.
    `replaced` is CANCELED (this order is dead; we never replace, so no successor is ours)."""
    S = alpaca_enums.OrderStatus
    match S(status):
        case (S.NEW | S.ACCEPTED | S.PENDING_NEW | S.ACCEPTED_FOR_BIDDING | S.PENDING_CANCEL | S.PENDING_REPLACE
              | S.PENDING_REVIEW | S.HELD | S.CALCULATED | S.STOPPED | S.SUSPENDED):
            return OrderStatus.ACCEPTED
        case S.PARTIALLY_FILLED:
            return OrderStatus.PARTIALLY_FILLED
        case S.FILLED:
            return OrderStatus.FILLED
        case S.CANCELED | S.REPLACED:
            return OrderStatus.CANCELED
        case S.EXPIRED | S.DONE_FOR_DAY:
            return OrderStatus.EXPIRED
        case S.REJECTED:
            return OrderStatus.REJECTED
    raise ValueError(f"unknown Alpaca order status {status!r}")


def parse_order(order: AlpacaOrder) -> VenueOrder:
    filled = _shares(order.filled_qty)
    avg = float(order.filled_avg_price) if order.filled_avg_price not in (None, "") and filled else None
    venue_status = order.status.value if isinstance(order.status, alpaca_enums.OrderStatus) else str(order.status)
    status = order_status(order.status)
    if status is OrderStatus.ACCEPTED and filled > 0:  # a working order with shares filled, whatever it is called
        status = OrderStatus.PARTIALLY_FILLED
    return VenueOrder(str(order.id), order.client_order_id, status, filled, avg,
                      utc(order.filled_at) if order.filled_at else None, utc(order.updated_at), venue_status)


def parse_request(order: AlpacaOrder, strategy: str = "") -> OrderRequest:
    """The request an order at Alpaca stands for: what a restart adopts, or an order another
    client placed (strategy ""). Alpaca's types without one of ours keep their prices:
    `stop_limit` is a STOP with a limit price, `trailing_stop` a STOP (at its current stop)."""
    side = Side.BUY if str(_value(order.side)) == "buy" else Side.SELL
    kind = str(_value(order.order_type or order.type))
    tif = str(_value(order.time_in_force))
    limit = float(order.limit_price) if order.limit_price not in (None, "") else None
    stop = float(order.stop_price) if order.stop_price not in (None, "") else None
    match kind:
        case "market":
            type_ = OrderType.MARKET_ON_CLOSE if tif == "cls" else OrderType.MARKET
        case "limit":
            type_ = OrderType.LIMIT
        case "stop" | "stop_limit" | "trailing_stop":
            type_ = OrderType.STOP
        case _:
            raise ValueError(f"unknown Alpaca order type {kind!r}")
    submitted = order.submitted_at or order.created_at
    return OrderRequest(order.client_order_id, order.symbol or "", side, _shares(order.qty), type_, limit, stop,
                        utc(submitted), strategy)


def _value(value: object) -> object:
    return getattr(value, "value", value)


def parse_trade_update(update: TradeUpdate) -> TradeEvent:
    event = update.event.value if isinstance(update.event, alpaca_enums.TradeEvent) else str(update.event)
    order = parse_order(update.order)
    ts = utc(update.timestamp)
    execution = None
    if event in ("fill", "partial_fill") and update.qty is not None and update.price is not None:
        # without an execution id (an emulator may omit it) the order's filled total names the execution
        execution_id = str(update.execution_id) if update.execution_id else f"{order.broker_id}@{order.filled_quantity}"
        execution = Execution(execution_id, _shares(update.qty), float(update.price), ts)
    return TradeEvent(event, order, execution, ts)


def parse_position(position: AlpacaPosition) -> Position:
    quantity = _shares(position.qty)
    if position.side == alpaca_enums.PositionSide.SHORT and quantity > 0:
        quantity = -quantity
    return Position(position.symbol, quantity, float(position.avg_entry_price))


def parse_account(account: TradeAccount) -> AccountSnapshot:
    cash = float(account.cash or 0.0)
    equity = float(account.equity or account.portfolio_value or cash)
    day_trades = getattr(account, "daytrade_count", None)
    return AccountSnapshot(cash=cash, equity=equity, positions_value=equity - cash,
                           day_trade_count=int(day_trades) if day_trades is not None else None)


def parse_bar(bar: AlpacaBar, interval: str = "1m") -> Bar:
    """Our bar for a stream or REST bar of `interval` (Alpaca too labels bars by their start)."""
    return Bar(bar.symbol, interval, utc(bar.timestamp), float(bar.open), float(bar.high), float(bar.low),
               float(bar.close), int(bar.volume))


def timeframe(interval: str) -> TimeFrame:
    """Alpaca's timeframe for our interval names (`1m`, `5m`, `15m`, `1h`, `1d`, any `Nm` < 60)."""
    unit = interval[-1:]
    try:
        amount = int(interval[:-1])
    except ValueError:
        amount = 0
    match unit:
        case "m" if 1 <= amount <= 59:
            return TimeFrame(amount, TimeFrameUnit.Minute)
        case "h" if 1 <= amount <= 23:
            return TimeFrame(amount, TimeFrameUnit.Hour)
        case "d" if amount == 1:
            return TimeFrame(1, TimeFrameUnit.Day)
    raise ValueError(f"interval {interval!r} has no Alpaca timeframe (expected Nm with N < 60, Nh with N < 24, or 1d)")


def is_duplicate_client_order_id(status_code: int | None, message: str) -> bool:
    return status_code == 422 and "client_order_id" in message.lower() and "unique" in message.lower()


def _shares(value: str | float | None) -> int:
    if value in (None, ""):
        return 0
    return int(round(float(value)))  # type: ignore[arg-type]
