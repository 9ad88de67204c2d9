"""ExecutionManager: the one path from strategy intents to the broker and back.

It numbers orders deterministically (`o000001`, ... within a run), stamps them with the end of
the step being handled, runs the pre-trade checks (services/risk_checks.py, with the run's
RiskGuard) before anything reaches the broker, applies fills to its position book before
strategies see the next bar, flattens every position before the close (at close − N minutes
with `flatten_minutes_before_close`, else at the last close), halts the day's entries when the
daily loss limit is passed, and keeps what reports and the database need: orders (refused ones
with status `refused` and the check's name), fills, refusals and the equity curve.

Positions are kept per (strategy, symbol): each strategy sees, sells and is flattened on its own
shares only, while the broker holds one net position per symbol. Every fill is stamped with the
strategy of its order, and after each application of fills the strategies' sum is compared with
the broker's positions; a difference is logged and kept (`position_mismatches`).
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypeVar

import structlog

from mismarterad.core.broker import Broker
from mismarterad.core.errors import BrokerError
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
from mismarterad.core.risk import LossHalt, Refusal, RiskCheck, RiskLimits
from mismarterad.core.run_result import EquityPoint
from mismarterad.managers.position_book import PositionBook
from mismarterad.managers.risk_guard import RiskGuard
from mismarterad.services.risk_checks import AccountState, check_order, is_entry, malformed

__all__ = ["ExecutionManager", "ExecutionRecord", "PositionMismatch"]

T = TypeVar("T")
ACCOUNT_OWNER = "(account)"  # the owner of shares a real account held before the day-run started

log = structlog.get_logger(component="execution_manager")


@dataclass
class ExecutionRecord:
    """Everything executed so far, in the order it happened."""

    fills: list[Fill] = field(default_factory=list)
    equity: list[EquityPoint] = field(default_factory=list)


class ExecutionManager:
    """Orders, fills and positions of one run."""

    def __init__(self, broker: Broker, risk: RiskGuard | None = None, id_prefix: str = "") -> None:
        self._broker = broker
        self._id_prefix = id_prefix  # a real account's ids must not repeat across days and restarts
        self._risk = risk or RiskGuard(RiskLimits())
        self._lock = threading.Lock()
        # the engine thread trades while the daemon's control and metrics threads read
        self._book = threading.RLock()
        self._sequence = 0
        self._holdings = PositionBook()
        self._strategy_of: dict[str, str] = {}
        self._last_bar: dict[str, Bar] = {}
        self._prices: dict[str, float] = {}  # last close per symbol, kept across sessions
        self.record = ExecutionRecord()
        self._halted = False
        self._closed = False
        self._catching_up = False  # the current step is a catch-up step and the account is real
        self._adoptable: dict[str, int] = {}  # see set_adoptable
        self._local_orders: list[Order] = []
        self._unreported: dict[str, list[Order]] = {}  # strategy -> refused or rejected, not yet told
        self._closing: set[str] = set()  # ids of the flatten orders sent (never canceled by a halt)

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
        """Send an order; market unless limit or stop is given (both: rejected). Every order a
        strategy sends passes the pre-trade checks first; a `risk_reducing` order (a flatten)
        skips them, and only a day-run being settled stops it."""
        client_order_id = self._next_id()
        order_type = OrderType.LIMIT if limit is not None else OrderType.STOP if stop is not None else OrderType.MARKET
        quantity = _whole(quantity)
        request = OrderRequest(client_order_id, symbol, side, quantity, order_type, limit, stop, now_utc, strategy_id)
        self._strategy_of[client_order_id] = strategy_id
        with self._book:  # the checks and the send are one step: a close() or halt() never falls between
            invalid = malformed(request)
            if invalid is not None:
                order = self._reject(request, *invalid)
            elif risk_reducing and not self._closed:
                order = self._send(request, closing=True)
            elif (verdict := check_order(request, self._account_state(request), self._risk.limits)) is not None:
                self._risk.refused(request, verdict)
                order = Order(request, OrderStatus.REFUSED, reason=verdict.check.value, detail=verdict.detail)
                self._local_orders.append(order)
                if verdict.check is RiskCheck.DAILY_LOSS:
                    self._watch_loss(now_utc)
            else:
                order = self._send(request)
            if order.status in (OrderStatus.REFUSED, OrderStatus.REJECTED) and not risk_reducing:
                self._unreported.setdefault(strategy_id, []).append(order)
        log.debug("order_submitted", client_order_id=client_order_id, symbol=symbol, side=side.value,
                  quantity=quantity, type=order_type.value, status=order.status.value)
        return order

    def _send(self, request: OrderRequest, *, closing: bool = False) -> Order:
        order = self._broker.submit(request)
        if order.status is not OrderStatus.REJECTED:
            self._risk.sent(request)
            if closing:
                self._closing.add(request.client_order_id)
        return order

    def _account_state(self, request: OrderRequest) -> AccountState:
        account = self._broker.account()
        halted = ("the day-run is being settled: no new orders" if self._closed
                  else "trading is halted" if self._halted else None)
        risk = self._risk
        working = [o.request for o in self._broker.open_orders()]
        entering = {o.symbol for o in working if o.side is Side.BUY or risk.limits.allow_short}
        return AccountState(
            now_utc=request.submitted_utc, halted=halted, loss_halted=risk.loss_halt is not None,
            cash=account.cash, equity=account.equity, start_equity=risk.start_equity, positions=self._holdings.net(),
            own_position=self._holdings.of(request.strategy, request.symbol), open_orders=working,
            orders_last_minute=risk.orders_last_minute(request.submitted_utc), prices=self._prices,
            entries_closed_utc=risk.entries_closed_utc, no_entry_utc=risk.no_entry_utc,
            day_trades=risk.day_trades(account.day_trade_count), opened_today=risk.opened_today() | entering,
            bar_passed=("decided on a bar that passed before this day-run started: never sent late to a live "
                        "account" if self._catching_up else None))

    def take_unreported(self, strategy_id: str) -> list[tuple[Order, str]]:
        """The strategy's orders refused (or rejected at once) since the last call, oldest first,
        each with its reason: the check's name, or `rejected:<category>` for a rejection."""
        with self._book:
            orders = self._unreported.pop(strategy_id, [])
        return [(o, o.reason or "" if o.status is OrderStatus.REFUSED
                 else f"rejected:{o.reject_category.value if o.reject_category else 'other'}") for o in orders]

    def cancel(self, client_order_id: str) -> Order:
        """Cancel a strategy's open order; an order already closed (or refused here) comes back
        unchanged, and so does a flatten order: it was sent in the strategy's name, but it is
        the engine's, and canceling it would leave the position open."""
        with self._book:
            for local in self._local_orders:
                if local.client_order_id == client_order_id:
                    return local
            if client_order_id in self._closing:
                log.warning("flatten_cancel_refused", client_order_id=client_order_id,
                            strategy=self._strategy_of.get(client_order_id))
                return next(o for o in self._broker.orders() if o.client_order_id == client_order_id)
            return self._broker.cancel(client_order_id)

    def halt(self, halted: bool) -> None:
        """While halted, new orders are refused here and never reach the broker. Lifting a halt
        (resume) also lifts the session's daily-loss halt; the day's loss then counts from now."""
        with self._book:
            self._halted = halted
            if not halted:
                self._risk.lift_loss_halt(self._broker.account().equity)

    def close(self) -> None:
        """The run is being settled (a shutdown): from now on every order a strategy sends is
        refused, even if its thread is still running, so nothing follows the settling flatten."""
        with self._book:
            self._closed = True

    def _next_id(self) -> str:
        with self._lock:
            self._sequence += 1
            return f"{self._id_prefix}o{self._sequence:06d}"

    def _reject(self, request: OrderRequest, category: RejectCategory, reason: str) -> Order:
        order = Order(request, OrderStatus.REJECTED, reason=reason, reject_category=category)
        self._local_orders.append(order)
        return order

    # -- session rules ---------------------------------------------------------------------

    def begin_session(self, day: date, close_utc: datetime | None, symbols: Sequence[str] = ()) -> None:
        """A session starts: the day's starting equity, loss halt and close rules start over. On a
        real account, shares of the session's `symbols` held at the broker that this day's earlier
        day-runs left (a restart after a failure, a crash; at most `set_adoptable`'s figures) are
        booked to ACCOUNT_OWNER: the limits count them, no strategy can trade them, and the
        flatten closes them with the rest. Shares the user held before are never touched."""
        history = self._risk.history(day)  # outside the lock: it may read the database
        with self._book:
            self._risk.begin_session(day, close_utc, self._broker.account().equity, history)
            if not self._broker.capabilities.simulated:
                self._adopt_positions(set(symbols))

    def set_adoptable(self, shares: dict[str, int]) -> None:
        """What this day's earlier day-runs (failed or killed) left held, by their stored fills:
        the most a real account's session start may adopt per symbol (signed)."""
        with self._book:
            self._adoptable = dict(shares)

    def _adopt_positions(self, symbols: set[str]) -> None:
        ours = self._holdings.net()
        for position in self._broker.positions():
            unexplained = position.quantity - ours.get(position.symbol, 0)
            cap = self._adoptable.get(position.symbol, 0)
            if cap * unexplained <= 0:
                continue  # never shares this day's runs did not buy (or sell short): the user's own
            unexplained = min(abs(unexplained), abs(cap)) * (1 if cap > 0 else -1)
            if position.symbol in symbols and unexplained:
                log.warning("account_position_adopted", symbol=position.symbol, quantity=unexplained,
                            owner=ACCOUNT_OWNER, note="held at the broker before this day-run; closed by its flatten")
                self._holdings.adopt(ACCOUNT_OWNER, position.symbol, unexplained)

    def seed_price(self, symbol: str, price: float) -> None:
        """A price for the checks before the symbol's first bar (the newest history), if none yet."""
        with self._book:
            self._prices.setdefault(symbol, price)

    def begin_step(self, step_end_utc: datetime, *, catch_up: bool = False) -> None:
        """After the step's fills, before strategies see its bars: the pre-close flatten (once,
        at close − flatten_minutes_before_close), the working entries canceled at the no-entry
        time, and the daily loss limit. A `catch_up` step (its minute passed before the run
        started) sends nothing to a real account: its orders would be late by minutes or hours."""
        with self._book:
            self._catching_up = catch_up and not self._broker.capabilities.simulated
            if self._risk.flatten_due(step_end_utc):
                log.info("pre_close_flatten", at=step_end_utc.isoformat())
                self._flatten_all(step_end_utc)
            if self._risk.entries_to_cancel(step_end_utc):
                self._cancel_entries()
            self._watch_loss(step_end_utc)

    def _cancel_entries(self) -> None:
        working = [o.request for o in self._broker.open_orders()]
        net = self._holdings.net()
        for request in working:
            own = self._holdings.of(request.strategy, request.symbol)
            if request.client_order_id not in self._closing and is_entry(request, own, working,
                                                                          net.get(request.symbol, 0)):
                self._broker.cancel(request.client_order_id)

    def _watch_loss(self, now_utc: datetime) -> None:
        if self._risk.loss_breached(self._broker.account().equity, now_utc) is not None:
            self._flatten_all(now_utc)

    def _flatten_all(self, now_utc: datetime) -> None:
        self.cancel_open_orders(keep_closing=True)
        self.flatten(now_utc)

    def refusals(self) -> list[Refusal]:
        with self._book:
            return list(self._risk.refusals)

    def refusal_counts(self) -> dict[str, int]:
        """Orders refused per check (every check, 0 included), in check order."""
        with self._book:
            return {c.value: self._risk.counts.get(c, 0) for c in RiskCheck}

    def loss_halts(self) -> list[LossHalt]:
        with self._book:
            return list(self._risk.loss_halts)

    @property
    def loss_halt(self) -> LossHalt | None:
        return self._risk.loss_halt

    # -- market events ---------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        """Show the broker a bar and apply the fills it caused before strategies see the bar."""
        self._last_bar[bar.symbol] = bar
        self._prices[bar.symbol] = bar.close
        with self._book:
            self._broker.on_bar(bar)
            self._apply(self._broker.drain_fills())

    def mark(self, step_end_utc: datetime) -> EquityPoint:
        """Record the account at the end of a step (a second mark of the same step replaces the first)."""
        with self._book:
            account = self._broker.account()
        exposed = self._holdings.exposed()
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
        strategy and symbol), then cancel what is still open. A real account gets market orders
        instead: this is also the shutdown's flatten, mid-session, and a market-on-close order
        would wait for 16:00 (and Alpaca refuses them after 15:50)."""
        with self._book:
            self._close_session(step_end_utc)

    def _close_session(self, step_end_utc: datetime) -> None:
        """Cancels first and applies what filled meanwhile (a real venue fills while it cancels),
        then closes what is held then. A broker failure on one order is logged and the rest go on:
        one unreachable cancel must not leave every other position open overnight."""
        real = not self._broker.capabilities.simulated
        for _ in range(2 if real else 1):  # a real venue: a second pass for what filled during the first
            if not self._close_pass(step_end_utc, real):
                break
        self._last_bar.clear()

    def _close_pass(self, step_end_utc: datetime, real: bool) -> bool:
        """One pass of the close; whether anything was left held to close. On a real account every
        open order is canceled first (an entry in a symbol not held yet would fill after the
        flatten), and a symbol whose orders did not cancel (a failed call, an order of unknown
        outcome) gets no closing order in this pass: it could sell the same shares twice."""
        closing_type = OrderType.MARKET if real else OrderType.MARKET_ON_CLOSE
        symbols = [s for s in self._holdings.held_by_symbol() if s in self._last_bar]
        for order in self._broker.open_orders() if real else [o for s in symbols for o in self._broker.open_orders(s)]:
            _guarded(self._broker.cancel, order.client_order_id)  # flatten orders too: the closing ones replace them
        self._apply(self._broker.drain_fills())
        held_now = self._holdings.held_by_symbol()
        for symbol in symbols:
            if real and self._broker.open_orders(symbol):
                log.error("flatten_deferred", symbol=symbol, reason="an order of the symbol is still working")
                continue
            for strategy_id, quantity in held_now.get(symbol, []):
                client_order_id = self._next_id()
                side = Side.SELL if quantity > 0 else Side.BUY
                request = OrderRequest(client_order_id, symbol, side, abs(quantity), closing_type, None, None,
                                       step_end_utc, strategy_id)
                self._strategy_of[client_order_id] = strategy_id
                order = _guarded(self._broker.submit, request)
                if order is None or order.status is OrderStatus.REJECTED:
                    log.error("flatten_rejected", symbol=symbol, strategy=strategy_id, quantity=quantity,
                              reason=order.reason if order else "the broker call failed")
        _guarded(self._broker.close_session, dict(self._last_bar))
        self._apply(self._broker.drain_fills())
        return bool(self._holdings.net())

    def cancel_open_orders(self, *, keep_closing: bool = False) -> list[Order]:
        """Cancel every order still open (daemon shutdown with `on_shutdown = "cancel"`); with
        `keep_closing` (a halt) the flatten orders still working are left to close their positions."""
        with self._book:
            canceled = [_guarded(self._broker.cancel, o.client_order_id) for o in self._broker.open_orders()
                        if not (keep_closing and o.client_order_id in self._closing)]
            return [o for o in canceled if o is not None]

    def flatten(self, now_utc: datetime) -> list[Order]:
        """Cancel each held symbol's open orders, then close every strategy's position in it with
        that strategy's own market order (filled at the next bar's open). Flatten orders already
        working stay, and only what they do not cover is sent: a second flatten sends nothing."""
        with self._book:
            orders = []
            for symbol in list(self._holdings.held_by_symbol()):
                self._cancel_open(symbol)  # once per symbol: the strategies' closing orders must all stay
            self._apply(self._broker.drain_fills())  # what filled while it was canceled is held no more
            for symbol, held in self._holdings.held_by_symbol().items():
                closing = [o.request for o in self._broker.open_orders(symbol) if o.client_order_id in self._closing]
                for strategy_id, qty in held:
                    side = Side.SELL if qty > 0 else Side.BUY
                    covered = sum(r.quantity for r in closing if r.strategy == strategy_id and r.side is side)
                    if abs(qty) > covered:
                        orders.append(self.submit(strategy_id, symbol, side, abs(qty) - covered, None, None, now_utc,
                                                  risk_reducing=True))
            return orders

    def _cancel_open(self, symbol: str) -> None:
        """Cancel the symbol's open orders but the flatten orders working."""
        for order in self._broker.open_orders(symbol):
            if order.client_order_id not in self._closing:
                _guarded(self._broker.cancel, order.client_order_id)

    @property
    def halted(self) -> bool:
        return self._halted

    # -- reads -----------------------------------------------------------------------------

    def position(self, strategy_id: str, symbol: str) -> int:
        """The strategy's own position in `symbol` (signed shares)."""
        return self._holdings.of(strategy_id, symbol)

    def strategy_positions(self) -> dict[tuple[str, str], int]:
        """Open positions per (strategy, symbol), sorted."""
        with self._book:
            return self._holdings.by_strategy()

    def positions(self) -> dict[str, int]:
        """Net open positions per symbol (the strategies' sum), sorted."""
        with self._book:
            return self._holdings.net()

    def strategy_of(self, client_order_id: str) -> str | None:
        """The strategy that placed an order, None if it was not placed here."""
        return self._strategy_of.get(client_order_id)

    def position_mismatches(self) -> list[PositionMismatch]:
        """The symbols whose strategies' positions do not add up to the broker's net position
        now (a difference that went away is no longer listed)."""
        with self._book:
            return self._holdings.mismatches(self._broker.positions())

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
            self._holdings.apply(fill)
            self.record.fills.append(fill)
            self._risk.filled(fill)
            log.debug("order_filled", client_order_id=fill.client_order_id, strategy=strategy_id, symbol=fill.symbol,
                      side=fill.side.value, quantity=fill.quantity, price=fill.price)
        self._holdings.mismatches(self._broker.positions())


def _guarded(call: Callable[..., T], *args: object) -> T | None:
    """A broker call of a flatten or a cancel-all: its failure is logged, never raised past the
    other orders."""
    try:
        return call(*args)
    except BrokerError as exc:
        log.error("broker_call_failed", call=getattr(call, "__name__", "?"), error=str(exc))
        return None


def _whole(quantity: object) -> object:
    """A quantity as a plain int when it is a whole number of any integer type (numpy's too);
    anything else is left for `malformed` to reject by name."""
    if isinstance(quantity, bool):
        return quantity
    try:
        return operator.index(quantity)  # type: ignore[call-overload]
    except TypeError:
        return quantity
