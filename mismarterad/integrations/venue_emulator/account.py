"""The emulated account: an order book and positions moved only by bars and session events.

Pure synchronous Python with no clock of its own: every call passes the instant it happens
at, so tests drive it minute by minute. The caller serializes calls (one lock in
`exchange.py`). Status transitions follow Alpaca's:

    accepted (taken outside market hours) -> new (at the session's open)
    new -> partially_filled -> filled;  new | partially_filled -> canceled | expired
    new -> rejected (injected fault only)

A fill is applied once: it moves cash, the position and the order in one step, and the order
it came from is no longer open for more than its remaining quantity. No commission.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderRequest, OrderType, Side
from mismarterad.integrations.venue_emulator.values import (
    EmulatedOrderType,
    EmulatedOrder,
    ExecutionRecord,
    MarketPhase,
    OrderError,
    OrderSpec,
    OrderStatus,
    Position,
    TimeInForce,
    TradeUpdate,
)
from mismarterad.services.fill_models import fill_price

__all__ = ["STARTING_CASH", "Account"]

STARTING_CASH = 100_000.0  # what an Alpaca paper account starts with

# time in force that gets one chance: the first bar it may fill on (opg: the session's first)
_ONE_SHOT = {TimeInForce.IOC: OrderStatus.CANCELED, TimeInForce.FOK: OrderStatus.CANCELED,
             TimeInForce.OPG: OrderStatus.EXPIRED}
_EVENTS = {OrderStatus.CANCELED: "canceled", OrderStatus.EXPIRED: "expired", OrderStatus.REJECTED: "rejected"}


class Account:
    """Cash, positions and orders of one emulated account; see the module docstring."""

    def __init__(
        self,
        cash: float = STARTING_CASH,
        positions: Iterable[Position] = (),
        orders: Iterable[EmulatedOrder] = (),
        opened_through: date | None = None,
        closed_through: date | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.cash = cash
        self.positions: dict[str, Position] = {p.symbol: p for p in positions}
        self.orders: dict[str, EmulatedOrder] = {o.id: o for o in orders}
        self._by_client = {o.spec.client_order_id: o.id for o in self.orders.values()}
        self.opened_through = opened_through  # last session whose open ran
        self.closed_through = closed_through  # last session whose close ran
        self.last_price: dict[str, float] = {}
        self.version = 0  # bumped on every change worth persisting
        self._new_id = new_id

    def use_ids(self, new_id: Callable[[], str]) -> None:
        """Name later orders and executions with `new_id` (a venue's own id format)."""
        self._new_id = new_id

    # --- queries -----------------------------------------------------------------------

    def order(self, order_id: str) -> EmulatedOrder:
        found = self.orders.get(order_id)
        if found is None:
            raise OrderError(404, 40410000, "order not found")
        return found

    def order_by_client_id(self, client_order_id: str) -> EmulatedOrder:
        order_id = self._by_client.get(client_order_id)
        if order_id is None:
            raise OrderError(404, 40410000, "order not found for " + client_order_id)
        return self.orders[order_id]

    def open_orders(self) -> list[EmulatedOrder]:
        return [o for o in self.orders.values() if o.is_open]

    def mark_price(self, symbol: str) -> float:
        """The last streamed close, or the entry price before any bar was seen."""
        price = self.last_price.get(symbol)
        if price is None:
            position = self.positions.get(symbol)
            return position.avg_entry_price if position is not None else 0.0
        return price

    def long_market_value(self) -> float:
        return sum(p.qty * self.mark_price(p.symbol) for p in self.positions.values() if p.qty > 0)

    def short_market_value(self) -> float:
        return sum(p.qty * self.mark_price(p.symbol) for p in self.positions.values() if p.qty < 0)

    def equity(self) -> float:
        return self.cash + self.long_market_value() + self.short_market_value()

    def buying_power(self) -> float:
        """Cash less what open buys hold: a 1x cash check (Alpaca's margin gives up to 4x)."""
        held = sum(
            o.remaining_qty * (o.reserve_price or 0.0)
            for o in self.orders.values()
            if o.is_open and o.spec.side is Side.BUY
        )
        return max(0.0, self.cash - held)

    # --- orders ------------------------------------------------------------------------

    def submit(
        self,
        spec: OrderSpec,
        now_utc: datetime,
        phase: MarketPhase,
        reference_price: float | None,
    ) -> tuple[EmulatedOrder, list[TradeUpdate]]:
        """Book an order or raise OrderError with Alpaca's status, code and message.

        `reference_price` (the last known trade price, None if unknown) values a market buy
        for the buying-power check; an unknown price skips the check.
        """
        if spec.client_order_id in self._by_client:
            raise OrderError(422, 40010001, "client_order_id must be unique")
        if spec.time_in_force is TimeInForce.CLS and phase.cls_cutoff_passed:
            raise OrderError(422, 42210000,
                             "market-on-close orders are not accepted after 15:50 ET (10 minutes before the close)")
        if spec.time_in_force is TimeInForce.OPG and phase.is_open:
            raise OrderError(422, 42210000, "opg orders are accepted only while the market is closed")
        if spec.closing_only:
            self._check_closing(spec)
        reserve = _reserve_price(spec, reference_price)
        if spec.side is Side.BUY and reserve is not None and spec.qty * reserve > self.buying_power() + 1e-9:
            raise OrderError(403, 40310000, "insufficient buying power")
        status = OrderStatus.NEW if phase.is_open else OrderStatus.ACCEPTED
        order = EmulatedOrder(
            id=self._new_id(), spec=spec, status=status, session_day=phase.session_day,
            created_utc=now_utc, updated_utc=now_utc, reserve_price=reserve,
        )
        self._store(order)
        self._by_client[spec.client_order_id] = order.id
        return order, [self._update(str(status), order, now_utc)]

    def _check_closing(self, spec: OrderSpec) -> None:
        """A closing-only order must fit in the position less what other open ones close already."""
        held = self.positions.get(spec.symbol)
        signed = held.qty if held is not None else 0
        available = max(0, -spec.side.sign * signed) - sum(
            o.remaining_qty for o in self.open_orders()
            if o.spec.closing_only and o.spec.symbol == spec.symbol and o.spec.side is spec.side)
        if spec.qty > available:
            side = "long" if spec.side is Side.SELL else "short"
            raise OrderError(403, 40310000, f"insufficient shares: {available} {spec.symbol} {side} are not "
                                            f"already being closed, {spec.qty} asked")

    def plan_partial(self, order_id: str, fraction: float) -> None:
        """Make the order's first fill take only floor(qty * fraction) shares (an injected fault)."""
        self._store(replace(self.order(order_id), partial_fraction=fraction))

    def reject(self, order_id: str, now_utc: datetime) -> list[TradeUpdate]:
        """Reject an open order that has not filled (the venue's asynchronous rejection)."""
        order = self.order(order_id)
        if not order.is_open or order.filled_qty:
            raise OrderError(422, 42210000, f"order is {order.status}, cannot be rejected")
        return [self._finish(order, OrderStatus.REJECTED, now_utc)]

    def cancel(self, order_id: str, now_utc: datetime) -> tuple[EmulatedOrder, list[TradeUpdate]]:
        """Cancel an open order; a filled, canceled or expired one answers 422 like Alpaca."""
        order = self.order(order_id)
        if not order.is_open:
            raise OrderError(422, 42210000, f"order is already in \"{order.status}\" state")
        update = self._finish(order, OrderStatus.CANCELED, now_utc)
        return update.order, [update]

    def cancel_all(self, now_utc: datetime) -> list[TradeUpdate]:
        return [self._finish(o, OrderStatus.CANCELED, now_utc) for o in self.open_orders()]

    # --- market events -----------------------------------------------------------------

    def open_session(self, day: date, now_utc: datetime) -> list[TradeUpdate]:
        """Route the orders queued for `day` (accepted -> new); once per session."""
        if self.opened_through is not None and day <= self.opened_through:
            return []
        self.opened_through = day
        self.version += 1
        updates = []
        for order in self.open_orders():
            if order.status is OrderStatus.ACCEPTED and order.session_day <= day:
                routed = replace(order, status=OrderStatus.NEW, updated_utc=now_utc)
                self._store(routed)
                updates.append(self._update("new", routed, now_utc))
        return updates

    def on_bars(self, bars: Sequence[Bar], regular: bool) -> list[TradeUpdate]:
        """Match the working orders against one minute's bars (one per symbol), in order of arrival.

        Market, limit and stop prices follow the paper broker's fill rules. Orders without
        `extended_hours` only fill on regular-session bars; cls orders wait for the close.
        """
        for bar in bars:
            self.last_price[bar.symbol] = bar.close
        by_symbol = {b.symbol: b for b in bars}
        updates: list[TradeUpdate] = []
        for order in self.open_orders():
            bar = by_symbol.get(order.spec.symbol)
            if (bar is None or order.status is OrderStatus.ACCEPTED or order.spec.time_in_force is TimeInForce.CLS
                    or not (regular or order.spec.extended_hours)):
                continue
            order, price = self._price(order, bar)
            if price is not None:
                updates.append(self._fill(order, price, bar.start_utc))
                order = self.orders[order.id]
            missed = _ONE_SHOT.get(order.spec.time_in_force)
            if missed is not None and order.is_open:
                updates.append(self._finish(order, missed, bar.start_utc))
        return updates

    def close_session(self, day: date, last_bars: Sequence[Bar], close_utc: datetime) -> list[TradeUpdate]:
        """At `day`'s close: cls orders fill at the last regular bar's close, day orders expire.

        Runs once per session; gtc and queued (accepted) orders for later sessions stay.
        """
        if self.closed_through is not None and day <= self.closed_through:
            return []
        self.closed_through = day
        self.version += 1
        closes = {b.symbol: b.close for b in last_bars}
        updates: list[TradeUpdate] = []
        for order in self.open_orders():
            if order.session_day > day:
                continue
            tif = order.spec.time_in_force
            close = closes.get(order.spec.symbol)
            at_close = tif is TimeInForce.CLS and order.status is not OrderStatus.ACCEPTED and close is not None
            if at_close and _limit_allows(order.spec, close):  # market-on-close, or limit-on-close in reach
                updates.append(self._fill(order, close, close_utc, whole=True))
                continue
            if tif is not TimeInForce.GTC:
                updates.append(self._finish(order, OrderStatus.EXPIRED, close_utc))
        return updates

    # --- internals ---------------------------------------------------------------------

    def _price(self, order: EmulatedOrder, bar: Bar) -> tuple[EmulatedOrder, float | None]:
        spec = order.spec
        if spec.type is not EmulatedOrderType.STOP_LIMIT:
            return order, fill_price(_request(spec, _CORE_TYPES[spec.type]), bar)
        if order.triggered:
            return order, fill_price(_request(spec, OrderType.LIMIT), bar)
        stop_fill = fill_price(_request(spec, OrderType.STOP), bar)
        if stop_fill is None:
            return order, None
        triggered = replace(order, triggered=True)
        self._store(triggered)
        # on the bar that reaches the stop it fills at the stop price if the limit allows it
        return triggered, stop_fill if _limit_allows(spec, stop_fill) else None

    def _fill(self, order: EmulatedOrder, price: float, ts_utc: datetime, whole: bool = False) -> TradeUpdate:
        qty = order.remaining_qty
        if not whole and order.partial_fraction is not None and order.filled_qty == 0:
            part = math.floor(order.spec.qty * order.partial_fraction)
            if 1 <= part < qty:
                qty = part
        filled = order.filled_qty + qty
        avg = price if order.filled_avg_price is None else (
            (order.filled_avg_price * order.filled_qty + price * qty) / filled)
        done = filled == order.spec.qty
        execution = ExecutionRecord(self._new_id(), qty, price, ts_utc)
        order = replace(
            order, filled_qty=filled, filled_avg_price=avg, filled_utc=ts_utc, updated_utc=ts_utc,
            status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
            executions=(*order.executions, execution),
        )
        self._store(order)
        signed = order.spec.side.sign * qty
        self.cash -= signed * price
        position = _moved(self.positions.get(order.spec.symbol), order.spec.symbol, signed, price)
        if position.qty == 0:
            self.positions.pop(position.symbol, None)
        else:
            self.positions[position.symbol] = position
        return TradeUpdate("fill" if done else "partial_fill", order, ts_utc, position.qty,
                           execution_id=execution.id, price=price, qty=qty)

    def _finish(self, order: EmulatedOrder, status: OrderStatus, now_utc: datetime) -> TradeUpdate:
        stamp = {
            OrderStatus.CANCELED: "canceled_utc", OrderStatus.EXPIRED: "expired_utc", OrderStatus.REJECTED: "failed_utc",
        }[status]
        done = replace(order, status=status, updated_utc=now_utc, **{stamp: now_utc})
        self._store(done)
        return self._update(_EVENTS[status], done, now_utc)

    def _store(self, order: EmulatedOrder) -> None:
        self.orders[order.id] = order
        self.version += 1

    def _update(self, event: str, order: EmulatedOrder, now_utc: datetime) -> TradeUpdate:
        held = self.positions.get(order.spec.symbol)
        return TradeUpdate(event, order, now_utc, held.qty if held is not None else 0)


_CORE_TYPES = {EmulatedOrderType.MARKET: OrderType.MARKET, EmulatedOrderType.LIMIT: OrderType.LIMIT,
               EmulatedOrderType.STOP: OrderType.STOP}


def _request(spec: OrderSpec, kind: OrderType) -> OrderRequest:
    # the paper broker's fill rules read only side, type and prices; the rest is filler
    return OrderRequest(spec.client_order_id, spec.symbol, spec.side, spec.qty, kind,
                        spec.limit_price, spec.stop_price, datetime.min)


def _limit_allows(spec: OrderSpec, price: float) -> bool:
    if spec.limit_price is None:
        return True
    return price <= spec.limit_price if spec.side is Side.BUY else price >= spec.limit_price


def _reserve_price(spec: OrderSpec, reference_price: float | None) -> float | None:
    match spec.type:
        case EmulatedOrderType.LIMIT | EmulatedOrderType.STOP_LIMIT:
            return spec.limit_price
        case EmulatedOrderType.STOP:
            return spec.stop_price
    return reference_price


def _moved(position: Position | None, symbol: str, signed_qty: int, price: float) -> Position:
    """The position after a fill of `signed_qty` at `price`: averaging in, reducing, or flipping."""
    if position is None or position.qty == 0:
        return Position(symbol, signed_qty, price)
    qty = position.qty + signed_qty
    if (position.qty > 0) == (signed_qty > 0):
        avg = (position.avg_entry_price * position.qty + price * signed_qty) / qty
        return Position(symbol, qty, avg)
    if qty == 0 or (qty > 0) == (position.qty > 0):
        return Position(symbol, qty, position.avg_entry_price)  # reduced: the entry price stays
    return Position(symbol, qty, price)  # flipped through zero: the rest opened at this price
