"""How an order fills against a bar: pure rules of the paper broker, shared with the venue
emulators (their fills) and the Schwab broker (which bar a live order's fill is waited for).

* market: the first eligible bar's open.
* limit buy / sell: when low <= limit / high >= limit; at the limit, or at the open if the bar
  opened beyond it (a gap through the price fills at the better open).
* stop buy / sell: when high >= stop / low <= stop; at the stop, or at the open if the bar
  opened beyond it (a gap through the stop fills at the worse open).
* slippage moves every price but a limit's against the trader by `bps` basis points.
* commission = max(minimum, per_order + per_share * quantity), all zero by default.
"""

from __future__ import annotations

from dataclasses import dataclass

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderRequest, OrderType, Side

__all__ = ["CommissionModel", "fill_price", "slipped"]


@dataclass(frozen=True, slots=True)
class CommissionModel:
    per_share: float = 0.0
    per_order: float = 0.0
    minimum: float = 0.0

    def commission(self, quantity: int) -> float:
        if self.per_share == 0 and self.per_order == 0 and self.minimum == 0:
            return 0.0
        return max(self.minimum, self.per_order + self.per_share * quantity)


def fill_price(request: OrderRequest, bar: Bar) -> float | None:
    """The price `request` fills at on `bar`, before slippage, or None if it does not fill."""
    buy = request.side is Side.BUY
    match request.type:
        case OrderType.MARKET:
            return bar.open
        case OrderType.LIMIT:
            limit = _required(request.limit_price, "limit")
            if buy:
                return min(bar.open, limit) if bar.low <= limit else None
            return max(bar.open, limit) if bar.high >= limit else None
        case OrderType.STOP:
            stop = _required(request.stop_price, "stop")
            if buy:
                return max(bar.open, stop) if bar.high >= stop else None
            return min(bar.open, stop) if bar.low <= stop else None
        case OrderType.MARKET_ON_CLOSE:
            return None  # fills only when the session closes
    raise ValueError(f"unknown order type {request.type!r}")


def slipped(price: float, request: OrderRequest, bps: float) -> float:
    """`price` moved against the trader; limit orders never fill worse than their limit."""
    if bps == 0 or request.type is OrderType.LIMIT:
        return price
    factor = 1 + request.side.sign * bps / 10_000
    return round(price * factor, 6)


def _required(value: float | None, name: str) -> float:
    if value is None:
        raise ValueError(f"a {name} order needs a {name} price")
    return value
