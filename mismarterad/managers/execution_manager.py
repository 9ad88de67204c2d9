"""ExecutionManager: the one path from strategy intents to the broker and back.

It numbers orders deterministically (`o000001`, ... within a run), stamps them with the end of
the step being handled, applies fills to its position book before strategies see the next bar,
flattens every position at the session's close, and keeps what reports and the database need:
orders, fills and the equity curve.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from mismarterad.core.broker import Broker
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import AccountSnapshot, Fill, Order, OrderRequest, OrderStatus, OrderType, Position, Side
from mismarterad.core.run_result import EquityPoint

__all__ = ["ExecutionManager", "ExecutionRecord"]

log = structlog.get_logger(component="execution_manager")

FLATTEN_STRATEGY = "engine:flatten"


@dataclass
class ExecutionRecord:
    """Everything executed so far, in the order it happened."""

    fills: list[Fill] = field(default_factory=list)
    equity: list[EquityPoint] = field(default_factory=list)


class ExecutionManager:
    """Orders, fills and positions of one run."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._lock = threading.Lock()
        # the engine thread trades while the daemon's control and metrics threads read
        self._book = threading.RLock()
        self._sequence = 0
        self._positions: dict[str, int] = {}
        self._strategy_of: dict[str, str] = {}
        self._last_bar: dict[str, Bar] = {}
        self.record = ExecutionRecord()
        self._halted = False
        self._local_orders: list[Order] = []

    # -- intents ---------------------------------------------------------------------------

    def submit(
        self,
        strategy_id: str,
        symbol: str,
        side: Side,
        quantity: int,
        limit: float | None,
        stop: float | None,
        now_utc: datetime,
        *,
        risk_reducing: bool = False,
    ) -> Order:
        """Send an order; market unless limit or stop is given (both: rejected). While halted only
        `risk_reducing` orders (the flatten) get through."""
        client_order_id = self._next_id()
        order_type = OrderType.LIMIT if limit is not None else OrderType.STOP if stop is not None else OrderType.MARKET
        request = OrderRequest(client_order_id, symbol, side, quantity, order_type, limit, stop, now_utc, strategy_id)
        self._strategy_of[client_order_id] = strategy_id
        if limit is not None and stop is not None:
            order = self._reject(request, "give a limit or a stop price, not both (stop-limit orders are not supported)")
        elif self._halted and not risk_reducing:
            order = self._reject(request, "trading is halted")
        else:
            with self._book:
                order = self._broker.submit(request)
        log.debug("order_submitted", client_order_id=client_order_id, symbol=symbol, side=side.value,
                  quantity=quantity, type=order_type.value, status=order.status.value)
        return order

    def cancel(self, client_order_id: str) -> Order:
        """Cancel an open order; an order already closed (or refused here) comes back unchanged."""
        with self._book:
            for local in self._local_orders:
                if local.client_order_id == client_order_id:
                    return local
            return self._broker.cancel(client_order_id)

    def halt(self, halted: bool) -> None:
        """While halted, new orders are rejected here and never reach the broker."""
        self._halted = halted

    def _next_id(self) -> str:
        with self._lock:
            self._sequence += 1
            return f"o{self._sequence:06d}"

    def _reject(self, request: OrderRequest, reason: str) -> Order:
        order = Order(request, OrderStatus.REJECTED, reason=reason)
        self._local_orders.append(order)
        return order

    # -- market events ---------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        """Show the broker a bar and apply the fills it caused before strategies see the bar."""
        self._last_bar[bar.symbol] = bar
        with self._book:
            self._broker.on_bar(bar)
            self._apply(self._broker.drain_fills())

    def mark(self, step_end_utc: datetime) -> EquityPoint:
        """Record the account at the end of a step (a second mark of the same step replaces the first)."""
        with self._book:
            account = self._broker.account()
        exposed = False
        for quantity in self._positions.values():
            if quantity:
                exposed = True
                break
        point = EquityPoint(step_end_utc, account.cash, account.positions_value, account.equity, exposed)
        equity = self.record.equity
        if equity and equity[-1].ts_utc == step_end_utc:
            exposed = equity[-1].exposed or point.exposed
            equity[-1] = EquityPoint(step_end_utc, point.cash, point.positions_value, point.equity, exposed)
            return equity[-1]
        equity.append(point)
        return point

    def close_session(self, step_end_utc: datetime) -> None:
        """Flatten every position at its last bar's close, then cancel what is still open."""
        with self._book:
            self._close_session(step_end_utc)

    def _close_session(self, step_end_utc: datetime) -> None:
        for symbol, quantity in sorted(self._positions.items()):
            if quantity == 0 or symbol not in self._last_bar:
                continue
            self._cancel_open(symbol)  # a resting stop or limit must not block the flatten
            client_order_id = self._next_id()
            side = Side.SELL if quantity > 0 else Side.BUY
            request = OrderRequest(client_order_id, symbol, side, abs(quantity), OrderType.MARKET_ON_CLOSE, None, None,
                                   step_end_utc, FLATTEN_STRATEGY)
            order = self._broker.submit(request)
            self._strategy_of[client_order_id] = FLATTEN_STRATEGY
            if order.status is OrderStatus.REJECTED:
                log.error("flatten_rejected", symbol=symbol, quantity=quantity, reason=order.reason)
        self._broker.close_session(dict(self._last_bar))
        self._apply(self._broker.drain_fills())
        self._last_bar.clear()

    def cancel_open_orders(self) -> list[Order]:
        """Cancel every order still open (daemon shutdown with `on_shutdown = "cancel"`)."""
        with self._book:
            return [self._broker.cancel(o.client_order_id) for o in self._broker.open_orders()]

    def flatten(self, now_utc: datetime) -> list[Order]:
        """Cancel each held symbol's open orders, then close it with a market order (filled at
        its next bar's open)."""
        with self._book:
            orders = []
            for symbol, qty in self.positions().items():
                self._cancel_open(symbol)
                orders.append(self.submit(FLATTEN_STRATEGY, symbol, Side.SELL if qty > 0 else Side.BUY, abs(qty),
                                          None, None, now_utc, risk_reducing=True))
            return orders

    def _cancel_open(self, symbol: str) -> None:
        for order in self._broker.open_orders(symbol):
            self._broker.cancel(order.client_order_id)

    @property
    def halted(self) -> bool:
        return self._halted

    # -- reads -----------------------------------------------------------------------------

    def position(self, symbol: str) -> int:
        return self._positions.get(symbol, 0)

    def positions(self) -> dict[str, int]:
        return {s: q for s, q in sorted(self._positions.items()) if q != 0}

    def orders(self) -> list[Order]:
        with self._book:
            return sorted([*self._broker.orders(), *self._local_orders], key=lambda o: o.client_order_id)

    def fills(self) -> Sequence[Fill]:
        with self._book:
            return list(self.record.fills)

    def account(self) -> AccountSnapshot:
        with self._book:
            return self._broker.account()

    def broker_positions(self) -> list[Position]:
        """Positions as the broker reports them (with average prices)."""
        with self._book:
            return self._broker.positions()

    def _apply(self, fills: list[Fill]) -> None:
        for fill in fills:
            self._positions[fill.symbol] = self._positions.get(fill.symbol, 0) + fill.side.sign * fill.quantity
            self.record.fills.append(fill)
            log.debug("order_filled", client_order_id=fill.client_order_id, symbol=fill.symbol,
                      side=fill.side.value, quantity=fill.quantity, price=fill.price)
