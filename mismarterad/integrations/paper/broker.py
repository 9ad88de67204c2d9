"""PaperBroker: fills orders against the bars it is shown, with the rules of `fill_models`.

An order is eligible from the first bar that starts at or after its submission time, so an
order placed while handling bar t (stamped with t's end) fills at the next bar at the earliest:
no order ever sees the bar that produced it. Orders fill whole. Long only unless the broker is
told otherwise: a sell for more than the position (less pending sells) is rejected, as is a buy
whose estimated cost exceeds the cash.

Working orders are ACCEPTED. Each fill's `execution_id` is `p<n>`, its order's n-th fill, so a
journal that books fills by (client_order_id, execution_id) books each once.

The account lives in the process (`simulated`), so nothing is ever found at "the venue" that
this broker did not make, or that the order journal does not hold: a restarted day-run
rebuilds it from the journal (core/broker.SimulatedBroker). `lookup` with what the journal
counted of an order it does not have restores it (working, or filled), and `book_journaled`
books the fills the journal holds; `venue_open_orders` answers from its own book, and its
stream never reconnects.

A daemon's paper account carries its cash and positions across days (runs/paper_account.py):
its broker opens with them (`positions`, each marked at its average cost until a bar prices
it) and books fills with the same arithmetic that rebuilds a day from its journal
(core/paper_account.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

from mismarterad.core.broker import BrokerCapabilities
from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import (
    AccountSnapshot,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    RejectCategory,
    Side,
)
from mismarterad.core.paper_account import cash_after, position_after
from mismarterad.services.fill_models import CommissionModel, fill_price, slipped

__all__ = ["PaperBroker"]

_ACKNOWLEDGED = frozenset({OrderStatus.ACCEPTED, OrderStatus.FILLED})


class PaperBroker:
    """A simulated account: cash, whole-share positions, and orders matched bar by bar."""

    def __init__(self, initial_cash: float = 1_000_000.0, commission: CommissionModel | None = None,
                 slippage_bps: float = 0.0, short_selling: bool = False, positions: Sequence[Position] = ()) -> None:
        """`positions`: what the account holds when it opens (carried from an earlier day)."""
        self._cash = initial_cash
        self._commission = commission or CommissionModel()
        self._slippage_bps = slippage_bps
        self._capabilities = BrokerCapabilities(short_selling=short_selling, simulated=True)
        self._orders: dict[str, Order] = {}
        self._open: dict[str, list[str]] = {}  # symbol -> open order ids, oldest first
        self._positions: dict[str, Position] = {p.symbol: p for p in positions if p.quantity != 0}
        self._last_price: dict[str, float] = {}
        self._fills: list[Fill] = []
        self._fill_count: dict[str, int] = {}  # client id -> fills booked of it (names the next one)

    @property
    def capabilities(self) -> BrokerCapabilities:
        return self._capabilities

    @property
    def connected(self) -> bool:
        return True  # in-process: nothing to lose

    # -- orders ----------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> Order:
        if request.client_order_id in self._orders:
            raise ValueError(f"duplicate client_order_id {request.client_order_id}")
        refusal = self._refusal(request)
        if refusal is None:
            order = Order(request, OrderStatus.ACCEPTED)
        else:
            order = Order(request, OrderStatus.REJECTED, reason=refusal[1], reject_category=refusal[0])
        self._orders[request.client_order_id] = order
        if refusal is None:
            self._open.setdefault(request.symbol, []).append(request.client_order_id)
        return order

    def cancel(self, client_order_id: str) -> Order:
        order = self._orders.get(client_order_id)
        if order is None:
            raise KeyError(f"no order {client_order_id}")
        if not order.status.is_open:
            return order
        return self._close(order, OrderStatus.CANCELED, "canceled on request")

    def orders(self) -> list[Order]:
        return list(self._orders.values())

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        symbols = [symbol] if symbol is not None else sorted(self._open)
        return [self._orders[i] for s in symbols for i in self._open.get(s, ())]

    def positions(self) -> list[Position]:
        return [p for _, p in sorted(self._positions.items()) if p.quantity != 0]

    def account(self) -> AccountSnapshot:
        value = 0.0
        for symbol, p in self._positions.items():  # insertion order: deterministic for a given run
            if p.quantity:
                value += p.quantity * self._last_price.get(symbol, p.avg_price)
        return AccountSnapshot(cash=self._cash, equity=self._cash + value, positions_value=value)

    def drain_fills(self) -> list[Fill]:
        fills, self._fills = self._fills, []
        return fills

    def lookup(self, client_order_id: str, counted: Order | None = None) -> Order | None:
        """This broker's order; else the order as the journal `counted` it, restored when an
        earlier day-run's broker acknowledged it: working, or filled once `counted` holds all its
        shares (their fills are booked by `book_journaled`, never made again). None for an order
        the journal never saw acknowledged (an intent, or a call whose answer was lost): this
        process has no trace of it, so it was never sent."""
        order = self._orders.get(client_order_id)
        if order is not None or counted is None or counted.status not in _ACKNOWLEDGED:
            return order
        request = counted.request
        whole = counted.filled_quantity >= request.quantity
        if counted.filled_quantity and not whole:
            raise ValueError(f"{client_order_id}: the journal holds part of an order this broker fills whole")
        restored = replace(counted, status=OrderStatus.FILLED if whole else OrderStatus.ACCEPTED)
        self._orders[client_order_id] = restored
        if not whole:
            working = self._open.setdefault(request.symbol, [])
            working.append(client_order_id)
            working.sort(key=lambda i: (self._orders[i].request.submitted_utc, i))  # oldest first, as submitted
        return restored

    def book_journaled(self, fills: Sequence[Fill]) -> None:
        """Book fills the journal holds from an earlier day-run of the day (cash and positions,
        with the arithmetic of `_fill`); they were reported then and are not reported again."""
        for fill in fills:
            signed = fill.side.sign * fill.quantity
            self._cash = cash_after(self._cash, signed, fill.price, fill.commission)
            held = self._positions.get(fill.symbol, Position(fill.symbol, 0, 0.0))
            self._positions[fill.symbol] = position_after(held, signed, fill.price)

    def venue_open_orders(self) -> list[Order]:
        """The open orders: this broker is the whole venue."""
        return self.open_orders()

    @property
    def reconnects(self) -> int:
        return 0  # in-process: no stream to lose

    # -- market events ---------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        for client_order_id in list(self._open.get(bar.symbol, ())):
            request = self._orders[client_order_id].request
            if request.submitted_utc > bar.start_utc:
                continue
            price = fill_price(request, bar)
            if price is not None:
                self._fill(request, slipped(price, request, self._slippage_bps), bar.start_utc)
        self._last_price[bar.symbol] = bar.close

    def mark_prices(self, closes: Mapping[str, float]) -> None:
        """The last closes of bars shown in bulk, on which no order could fill (core/bulk_marking.py)."""
        self._last_price.update(closes)

    def holdings(self) -> tuple[float, tuple[tuple[str, int], ...]]:
        return self._cash, tuple((s, p.quantity) for s, p in self._positions.items())

    def valuation_price(self, symbol: str) -> float | None:
        price = self._last_price.get(symbol)
        if price is None and symbol in self._positions:
            return self._positions[symbol].avg_price
        return price

    def close_session(self, last_bars: dict[str, Bar]) -> None:
        """Fill market-on-close orders at each symbol's last close (stamped with that bar's end),
        then cancel every order still open: orders are day orders."""
        for symbol in sorted(self._open):
            for client_order_id in list(self._open[symbol]):
                request = self._orders[client_order_id].request
                bar = last_bars.get(symbol)
                if request.type is OrderType.MARKET_ON_CLOSE and bar is not None:
                    end = bar.start_utc + timedelta(minutes=parse_interval(bar.interval).minutes)
                    self._fill(request, slipped(bar.close, request, self._slippage_bps), end)
                else:
                    self._close(self._orders[client_order_id], OrderStatus.CANCELED, "day order expired at the close")

    # -- internals -------------------------------------------------------------------------

    def _refusal(self, request: OrderRequest) -> tuple[RejectCategory, str] | None:
        if request.quantity <= 0:
            return RejectCategory.INVALID_QUANTITY, (f"quantity must be a positive whole number of shares, "
                                                     f"got {request.quantity}")
        if request.type.value not in self._capabilities.order_types:
            return RejectCategory.UNSUPPORTED_TYPE, f"order type {request.type.value} is not supported"
        price = {OrderType.LIMIT: request.limit_price, OrderType.STOP: request.stop_price}.get(request.type, 1.0)
        if price is None or not math.isfinite(price) or price <= 0:
            return RejectCategory.INVALID_PRICE, f"a {request.type.value} order needs a positive price, got {price}"
        if request.side is Side.SELL and not self._capabilities.short_selling:
            held = self._positions.get(request.symbol, Position(request.symbol, 0, 0.0)).quantity
            pending = sum(self._orders[i].request.quantity for i in self._open.get(request.symbol, ())
                          if self._orders[i].request.side is Side.SELL)
            if request.quantity + pending > held:
                return RejectCategory.INSUFFICIENT_POSITION, (
                    f"sell of {request.quantity} {request.symbol} exceeds the position ({held}, {pending} pending): "
                    "short selling is not allowed")
        if request.side is Side.BUY:
            cost = self._estimated_cost(request)
            reserved = sum(self._estimated_cost(self._orders[i].request) or 0.0
                           for ids in self._open.values() for i in ids if self._orders[i].request.side is Side.BUY)
            if cost is not None and cost + reserved > self._cash:
                return RejectCategory.INSUFFICIENT_FUNDS, (
                    f"buy of {request.quantity} {request.symbol} (about {cost:.2f}) exceeds the cash "
                    f"({self._cash:.2f}, {reserved:.2f} reserved by open buys)")
        return None

    def _estimated_cost(self, request: OrderRequest) -> float | None:
        price = request.limit_price or request.stop_price or self._last_price.get(request.symbol)
        return None if price is None else price * request.quantity

    def _fill(self, request: OrderRequest, price: float, ts_utc: object) -> None:
        commission = self._commission.commission(request.quantity)
        signed = request.side.sign * request.quantity
        self._cash = cash_after(self._cash, signed, price, commission)
        held = self._positions.get(request.symbol, Position(request.symbol, 0, 0.0))
        self._positions[request.symbol] = position_after(held, signed, price)
        number = self._fill_count.get(request.client_order_id, 0) + 1
        self._fill_count[request.client_order_id] = number
        fill = Fill(request.client_order_id, request.symbol, request.side, request.quantity, price, commission,
                    ts_utc, request.strategy, execution_id=f"p{number}")  # type: ignore[arg-type]
        self._fills.append(fill)
        order = self._orders[request.client_order_id]
        self._orders[request.client_order_id] = replace(
            order, status=OrderStatus.FILLED, filled_quantity=request.quantity, avg_fill_price=price,
            filled_utc=fill.ts_utc)
        self._open[request.symbol].remove(request.client_order_id)

    def _close(self, order: Order, status: OrderStatus, reason: str) -> Order:
        closed = replace(order, status=status, reason=reason)
        self._orders[order.client_order_id] = closed
        self._open[order.request.symbol].remove(order.client_order_id)
        return closed
