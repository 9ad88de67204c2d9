"""ExecutionManager: the one path from strategy intents to the broker and back.

It numbers orders deterministically (`o000001`, ... within a run), stamps them with the end of
the step being handled, applies fills to its position book before strategies see the next bar,
flattens every position at the session's close, and keeps what reports and the database need:
orders, fills and the equity curve.

Positions are kept per (strategy, symbol): each strategy sees, sells and is flattened on its own
shares only, while the broker holds one net position per symbol. Every fill is stamped with the
strategy of its order, and after each application of fills the strategies' sum is compared with
the broker's positions; a difference is logged and kept (`position_mismatches`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog

from mismarterad.core.broker import Broker
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
from mismarterad.core.read_model import PositionMismatch
from mismarterad.core.run_result import EquityPoint

__all__ = ["ExecutionManager", "ExecutionRecord", "PositionMismatch"]

log = structlog.get_logger(component="execution_manager")


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
        self._positions: dict[tuple[str, str], int] = {}  # (strategy, symbol) -> signed shares
        self._strategy_of: dict[str, str] = {}
        self._mismatch_seen: set[PositionMismatch] = set()  # logged once per distinct value
        self._last_bar: dict[str, Bar] = {}
        self.record = ExecutionRecord()
        self._halted = False
        self._closed = False
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
        with self._book:  # the checks and the send are one step: a close() or halt() never falls between
            if limit is not None and stop is not None:
                order = self._reject(request, RejectCategory.UNSUPPORTED_TYPE,
                                     "give a limit or a stop price, not both (stop-limit orders are not supported)")
            elif self._closed:
                order = self._reject(request, RejectCategory.HALTED, "the day-run is being settled: no new orders")
            elif self._halted and not risk_reducing:
                order = self._reject(request, RejectCategory.HALTED, "trading is halted")
            elif (refusal := self._oversell(request)) is not None:
                order = self._reject(request, RejectCategory.INSUFFICIENT_POSITION, refusal)
            else:
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
        with self._book:
            self._halted = halted

    def close(self) -> None:
        """The run is being settled (a shutdown): from now on every order a strategy sends is
        refused, even if its thread is still running, so nothing follows the settling flatten."""
        with self._book:
            self._closed = True

    def _next_id(self) -> str:
        with self._lock:
            self._sequence += 1
            return f"o{self._sequence:06d}"

    def _reject(self, request: OrderRequest, category: RejectCategory, reason: str) -> Order:
        order = Order(request, OrderStatus.REJECTED, reason=reason, reject_category=category)
        self._local_orders.append(order)
        return order

    def _oversell(self, request: OrderRequest) -> str | None:
        """Why a sell must not reach the broker: more than the strategy's own shares less its own
        open sells (another strategy's shares are not its to sell), unless the broker shorts."""
        if request.side is not Side.SELL or request.quantity <= 0 or self._broker.capabilities.short_selling:
            return None
        held = self._positions.get((request.strategy, request.symbol), 0)
        pending = sum(o.request.quantity for o in self._broker.open_orders(request.symbol)
                      if o.request.side is Side.SELL and self._strategy_of.get(o.client_order_id) == request.strategy)
        if request.quantity + pending <= held:
            return None
        return (f"sell of {request.quantity} {request.symbol} exceeds {request.strategy}'s position ({held}, "
                f"{pending} pending): short selling is not allowed")

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
        """Flatten every strategy's position at its symbol's last close (one market-on-close per
        strategy and symbol), then cancel what is still open."""
        with self._book:
            self._close_session(step_end_utc)

    def _close_session(self, step_end_utc: datetime) -> None:
        for symbol, held in self._held_by_symbol().items():
            if symbol not in self._last_bar:
                continue
            self._cancel_open(symbol)  # a resting stop or limit must not block the flatten
            for strategy_id, quantity in held:
                client_order_id = self._next_id()
                side = Side.SELL if quantity > 0 else Side.BUY
                request = OrderRequest(client_order_id, symbol, side, abs(quantity), OrderType.MARKET_ON_CLOSE, None,
                                       None, step_end_utc, strategy_id)
                self._strategy_of[client_order_id] = strategy_id
                order = self._broker.submit(request)
                if order.status is OrderStatus.REJECTED:
                    log.error("flatten_rejected", symbol=symbol, strategy=strategy_id, quantity=quantity,
                              reason=order.reason)
        self._broker.close_session(dict(self._last_bar))
        self._apply(self._broker.drain_fills())
        self._last_bar.clear()

    def cancel_open_orders(self) -> list[Order]:
        """Cancel every order still open (daemon shutdown with `on_shutdown = "cancel"`)."""
        with self._book:
            return [self._broker.cancel(o.client_order_id) for o in self._broker.open_orders()]

    def flatten(self, now_utc: datetime) -> list[Order]:
        """Cancel each held symbol's open orders, then close every strategy's position in it with
        that strategy's own market order (filled at the next bar's open)."""
        with self._book:
            orders = []
            for symbol, held in self._held_by_symbol().items():
                self._cancel_open(symbol)  # once per symbol: the strategies' closing orders must all stay
                for strategy_id, qty in held:
                    orders.append(self.submit(strategy_id, symbol, Side.SELL if qty > 0 else Side.BUY, abs(qty),
                                              None, None, now_utc, risk_reducing=True))
            return orders

    def _held_by_symbol(self) -> dict[str, list[tuple[str, int]]]:
        """Open positions grouped by symbol, symbols and strategies sorted."""
        held: dict[str, list[tuple[str, int]]] = {}
        for (strategy_id, symbol), quantity in sorted(self._positions.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if quantity:
                held.setdefault(symbol, []).append((strategy_id, quantity))
        return held

    def _cancel_open(self, symbol: str) -> None:
        for order in self._broker.open_orders(symbol):
            self._broker.cancel(order.client_order_id)

    @property
    def halted(self) -> bool:
        return self._halted

    # -- reads -----------------------------------------------------------------------------

    def position(self, strategy_id: str, symbol: str) -> int:
        """The strategy's own position in `symbol` (signed shares)."""
        return self._positions.get((strategy_id, symbol), 0)

    def strategy_positions(self) -> dict[tuple[str, str], int]:
        """Open positions per (strategy, symbol), sorted."""
        with self._book:
            return {k: q for k, q in sorted(self._positions.items()) if q != 0}

    def positions(self) -> dict[str, int]:
        """Net open positions per symbol (the strategies' sum), sorted."""
        with self._book:
            return self._net()

    def _net(self) -> dict[str, int]:
        net: dict[str, int] = {}
        for (_strategy, symbol), quantity in self._positions.items():
            net[symbol] = net.get(symbol, 0) + quantity
        return {s: q for s, q in sorted(net.items()) if q != 0}

    def strategy_of(self, client_order_id: str) -> str | None:
        """The strategy that placed an order, None if it was not placed here."""
        return self._strategy_of.get(client_order_id)

    def position_mismatches(self) -> list[PositionMismatch]:
        """The symbols whose strategies' positions do not add up to the broker's net position
        now (a difference that went away is no longer listed)."""
        with self._book:
            return self._check_against_broker()

    def orders(self) -> list[Order]:
        with self._book:
            return sorted([*self._broker.orders(), *self._local_orders], key=lambda o: o.client_order_id)

    def open_orders(self) -> list[Order]:
        """Orders still working at the broker (without scanning the run's history)."""
        with self._book:
            return self._broker.open_orders()

    @property
    def broker_connected(self) -> bool:
        return self._broker.connected

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
        if not fills:
            return  # positions change only on fills: nothing to apply, nothing to compare
        for fill in fills:
            strategy_id = self._strategy_of.get(fill.client_order_id, fill.strategy)
            if fill.strategy != strategy_id:
                fill = replace(fill, strategy=strategy_id)
            signed = fill.side.sign * fill.quantity
            key = (strategy_id, fill.symbol)
            self._positions[key] = self._positions.get(key, 0) + signed
            self.record.fills.append(fill)
            log.debug("order_filled", client_order_id=fill.client_order_id, strategy=strategy_id, symbol=fill.symbol,
                      side=fill.side.value, quantity=fill.quantity, price=fill.price)
        self._check_against_broker()

    def _check_against_broker(self) -> list[PositionMismatch]:
        """Compare the strategies' sum with the broker; log each distinct difference once."""
        broker = {p.symbol: p.quantity for p in self._broker.positions()}
        ours_by_symbol = self._net()
        found = []
        for symbol in sorted(broker.keys() | ours_by_symbol.keys()):
            ours, theirs = ours_by_symbol.get(symbol, 0), broker.get(symbol, 0)
            if ours == theirs:
                continue
            mismatch = PositionMismatch(symbol, ours, theirs)
            found.append(mismatch)
            if mismatch not in self._mismatch_seen:
                self._mismatch_seen.add(mismatch)
                log.error("position_mismatch", symbol=symbol, strategies_total=ours, broker_quantity=theirs,
                          strategies={s: q for (s, sym), q in sorted(self._positions.items()) if sym == symbol and q})
        return found
