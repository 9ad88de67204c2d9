"""ExecutionManager: the one path from strategy intents to the broker and back.

It names orders deterministically (services/order_ids.py), stamps them with the end of
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

With a journal (a daemon's day-run), every order is journaled as an intent before the broker
call and every change and fill after it (managers/order_journaling.py), a restarted day-run
resumes from the journal instead of sending anything again (a simulated account is rebuilt
from it: managers/execution_resuming.py), and a real account is reconciled with the broker
(managers/reconciler.py) by the daemon's `reconcile_policy`.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TypeVar

import structlog

from mismarterad.core.broker import Broker
from mismarterad.core.errors import BrokerError
from mismarterad.core.failpoints import failpoint
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
from mismarterad.managers.execution_blocks import BlockMixin
from mismarterad.managers.execution_reconciling import ReconcilingMixin
from mismarterad.managers.execution_record import ExecutionRecord
from mismarterad.managers.execution_resuming import ResumingMixin
from mismarterad.managers.execution_settling import SettlingMixin
from mismarterad.managers.execution_shared import ACCOUNT_OWNER, guarded
from mismarterad.managers.order_journaling import OrderJournaling
from mismarterad.managers.position_book import PositionBook
from mismarterad.managers.reconciler import Reconciler, ReconcileSettings
from mismarterad.managers.risk_guard import RiskGuard
from mismarterad.managers.trade_log import TradeLog
from mismarterad.services.order_ids import OrderIds, SessionOrderIds, is_closing
from mismarterad.services.risk_checks import AccountState, check_order, is_entry, malformed

__all__ = ["ACCOUNT_OWNER", "ExecutionManager", "ExecutionRecord", "PositionMismatch"]

T = TypeVar("T")

log = structlog.get_logger(component="execution_manager")


class ExecutionManager(ResumingMixin, SettlingMixin, ReconcilingMixin, BlockMixin):
    """Orders, fills and positions of one run (its settling and reconciling in their own modules)."""

    def __init__(self, broker: Broker, risk: RiskGuard | None = None, ids: OrderIds | None = None,
                 journaling: OrderJournaling | None = None, reconcile: ReconcileSettings | None = None,
                 trade_log: TradeLog | None = None) -> None:
        self._broker = broker
        self._trade_log = trade_log or TradeLog()  # every order and fill, at the run's level
        self._simulated = broker.capabilities.simulated
        self._ids = ids or SessionOrderIds("")
        self._journaling = journaling  # None: nothing journaled (a backtest saves its run at the end)
        self._reconciler = (Reconciler(reconcile) if reconcile is not None and journaling is not None
                            and not self._simulated else None)
        self._risk = risk or RiskGuard(RiskLimits())
        self._lock = threading.Lock()
        # the engine thread trades while the daemon's control and metrics threads read
        self._book = threading.RLock()
        self._holdings = PositionBook()
        self._strategy_of: dict[str, str] = {}
        self._last_bar: dict[str, Bar] = {}
        self._prices: dict[str, float] = {}  # last close per symbol, kept across sessions
        self.record = ExecutionRecord()
        self._order_changes = 0  # moves with every order sent, canceled or filled (BlockMixin)
        self._halted = False
        self._closed = False
        self._catching_up = False  # the current step's orders are the past's: a real account's catch-up,
        # or a step of a simulated account's catch-up up to where the journal holds the day
        self._step_end: datetime | None = None
        self._session_open: datetime | None = None
        self._carried: list[Fill] = []  # opening lots of the shares booked to ACCOUNT_OWNER (no fill explains them)
        self._symbols: frozenset[str] = frozenset()  # the session's: the daemon's in the account
        self._local_orders: list[Order] = []
        self._unreported: dict[str, list[Order]] = {}  # strategy -> refused or rejected, not yet told
        self._closing: set[str] = set()  # ids of the flatten orders sent (never canceled by a halt)
        self._cancel_requested: set[str] = set()
        self._held_fills: list[Fill] = []  # a real account's new fills during a catch-up (counted at its end)
        self._gone: set[str] = set()  # ours, unknown to the broker: no longer treated as working
        self._resumed: dict[str, Order] = {}  # earlier day-runs' orders the broker does not track
        self._to_resolve: set[str] = set()  # journaled open orders not yet looked up at the broker
        if journaling is not None:
            for order in journaling.resumed_orders():
                self._resumed[order.client_order_id] = order
                self._strategy_of[order.client_order_id] = order.request.strategy
                if is_closing(order.client_order_id):
                    self._closing.add(order.client_order_id)

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
        order_type = OrderType.LIMIT if limit is not None else OrderType.STOP if stop is not None else OrderType.MARKET
        quantity = _whole(quantity)
        with self._book:  # the checks and the send are one step: a close() or halt() never falls between
            request = self._request(strategy_id, symbol, side, quantity, order_type, limit, stop, now_utc,
                                    closing=risk_reducing)
            invalid = malformed(request)
            if invalid is not None:
                order = self._reject(request, *invalid)
            elif (adopted := self._adopted(request, closing=risk_reducing)) is not None:
                order = adopted
            elif risk_reducing and not self._closed:
                order = self._send(request, closing=True)
            elif (verdict := check_order(request, self._account_state(request), self._risk.limits)) is not None:
                self._risk.refused(request, verdict)
                self._trade_log.refused(request, verdict.check.value, verdict.detail)
                order = self._local(Order(request, OrderStatus.REFUSED, reason=verdict.check.value,
                                          detail=verdict.detail))
                if verdict.check is RiskCheck.DAILY_LOSS:
                    self._watch_loss(now_utc)
            else:
                order = self._send(request)
            if order.status in (OrderStatus.REFUSED, OrderStatus.REJECTED) and not risk_reducing:
                self._unreported.setdefault(strategy_id, []).append(order)
            self._order_changes += 1
        return order

    def _send(self, request: OrderRequest, closing: bool = False) -> Order:
        """Journal the intent (committed), send, journal the answer. A call that fails leaves the
        order `submitted`: its fate is looked up at the broker later, never resent."""
        if self._journaling is not None:
            self._journaling.intent(request)
        try:
            order = self._broker.submit(request)
        except BrokerError as exc:
            if self._journaling is not None:
                self._journaling.record([Order(request, OrderStatus.SUBMITTED, reason=str(exc))])
            raise
        failpoint("order_acked")
        if self._journaling is not None:
            self._journaling.record([order])
        self._trade_log.sent(order, closing=closing)
        if order.status is not OrderStatus.REJECTED:
            self._risk.sent(request)
            if closing:
                self._closing.add(request.client_order_id)
        return order

    def _local(self, order: Order) -> Order:
        """A refusal or rejection of ours: kept with the orders and journaled, never sent."""
        self._local_orders.append(order)
        if self._journaling is not None:
            self._journaling.record([order])
        return order

    def _account_state(self, request: OrderRequest) -> AccountState:
        account = self._broker.account()
        halted = ("the day-run is being settled: no new orders" if self._closed
                  else "trading is halted" if self._halted
                  else f"reconciliation halted trading: {self._reconciler.halted}" if self._reconciler is not None
                  and self._reconciler.halted else None)
        risk = self._risk
        working = [o.request for o in self._working()]
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
        if strategy_id not in self._unreported:  # the usual answer, twice per strategy call: no lock
            return []  # (one added by another thread meanwhile is told at the next call, as with the lock)
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
                return self._current(client_order_id)
            return self._cancel(client_order_id)

    def _cancel(self, client_order_id: str) -> Order:
        """Every cancel goes here: a cancel we asked for is no reconciliation difference."""
        self._cancel_requested.add(client_order_id)
        self._order_changes += 1
        order = self._broker.cancel(client_order_id)
        if self._journaling is not None:
            self._journaling.record([order])
        self._trade_log.cancel_requested(order)
        return order

    def halt(self, halted: bool) -> None:
        """While halted, new orders are refused here and never reach the broker. Lifting a halt
        (resume) also lifts the session's daily-loss halt; the day's loss then counts from now."""
        with self._book:
            self._halted = halted
            if not halted:
                self._risk.lift_loss_halt(self._broker.account().equity)
                if self._reconciler is not None:
                    acknowledged = self._reconciler.acknowledge()
                    if acknowledged:
                        log.warning("reconciliation_acknowledged", differences=len(acknowledged))
                        self._adopt(acknowledged)

    def close(self) -> None:
        """The run is being settled (a shutdown): from now on every order a strategy sends is
        refused, even if its thread is still running, so nothing follows the settling flatten."""
        with self._book:
            self._closed = True

    def _reject(self, request: OrderRequest, category: RejectCategory, reason: str) -> Order:
        order = self._local(Order(request, OrderStatus.REJECTED, reason=reason, reject_category=category))
        self._trade_log.rejected(order)
        return order

    # -- session rules ---------------------------------------------------------------------

    def begin_session(self, day: date, close_utc: datetime | None, symbols: Sequence[str] = (), *,
                      open_utc: datetime | None = None) -> None:
        """A session starts: the day's starting equity, loss halt and close rules start over. A
        resumed day-run on a real account first asks the broker for each order the journal
        holds open: the broker tracks it again (its fills from then on, none twice), and an
        intent the broker never got is closed as `refused` (bar_passed): it is never sent late.
        A day-run on the daemon's paper account books the session-symbol shares the account
        carries from an earlier day to (account), as a real account's close does, and a resumed
        one restores the orders the journal holds working into its (simulated) broker."""
        history = self._risk.history(day)  # outside the lock: it may read the database
        with self._book:
            self._ids.begin_day(day)
            self._symbols = frozenset(symbols)
            self._session_open = open_utc if open_utc is not None else close_utc  # stamps what the session carries
            self._risk.begin_session(day, close_utc, self._broker.account().equity, history)
            if self._journaling is not None:
                if self._simulated:
                    self._absorb_differences()  # the day's opening holds no strategy's shares yet
                # open ones, and ended ones whose journaled shares outrun their booked fills
                self._to_resolve = {i for i, o in self._resumed.items() if o.status.is_open
                                    or o.filled_quantity > self._journaling.counted(o).filled_quantity}
                self._resolve_journaled()
                if not self._simulated:
                    self._cancel_earlier_days()

    def seed_price(self, symbol: str, price: float) -> None:
        """A price for the checks before the symbol's first bar (the newest history), if none yet."""
        with self._book:
            self._prices.setdefault(symbol, price)

    def start_step(self, step_end_utc: datetime, *, catch_up: bool = False) -> None:
        """A step starts, before its bars reach the broker (`on_bar`): the fills they bring are
        this step's (stamped with its end, which is where a resume replays them), and on a
        real account's catch-up step they wait for the catch-up's end. A simulated account's
        catch-up trades the passed bars, but not those the journal already holds the day for."""
        with self._book:
            self._catching_up = catch_up and (not self._simulated or self._journal_holds(step_end_utc))
            self._step_end = step_end_utc

    def begin_step(self, step_end_utc: datetime, *, catch_up: bool = False) -> None:
        """After the step's fills, before strategies see its bars: the pre-close flatten (once,
        at close − flatten_minutes_before_close), the working entries canceled at the no-entry
        time, and the daily loss limit. A `catch_up` step (its minute passed before the run
        started) sends nothing to a real account: its orders would be late by minutes or hours.
        It only replays the fills the earlier runs counted by its end; the flatten, the cancels,
        the loss limit and the reconciliation wait for the first live step, which acts on the
        account as it is now (a resume after close − N flattens at once, not after the close)."""
        self.start_step(step_end_utc, catch_up=catch_up)
        with self._book:
            self._trade_log.refusals_passed(step_end_utc)
            self._replay(step_end_utc)
            if self._catching_up:
                return  # the account's rules act on now, at the first live step: these positions are the past's
            if self._reconciler is not None:
                reason = self._reconciler.due(step_end_utc, self._broker.reconnects)
                if reason is not None:
                    self._reconcile(step_end_utc, reason)
            if self._risk.flatten_due(step_end_utc):
                self._trade_log.flatten("pre_close_flatten", step_end_utc, self._holdings.net())
                self._flatten_all(step_end_utc)
            elif not self._simulated and self._risk.flattened() and any(self._uncovered_positions()):
                # a real account's fill of an order sent before the flatten can be read after it
                # (its cancel came too late; Schwab's fills are polled): close what it opened too
                self._trade_log.flatten("late_fill_flatten", step_end_utc, self._holdings.net())
                self.flatten(step_end_utc)
            if self._risk.entries_to_cancel(step_end_utc):
                self._cancel_entries()
            self._watch_loss(step_end_utc)

    def _cancel_entries(self) -> None:
        working = [o.request for o in self._working()]
        net = self._holdings.net()
        for request in working:
            own = self._holdings.of(request.strategy, request.symbol)
            if request.client_order_id not in self._closing and is_entry(request, own, working,
                                                                          net.get(request.symbol, 0)):
                self._cancel(request.client_order_id)

    def _watch_loss(self, now_utc: datetime) -> None:
        if not self._risk.loss_watch_armed():  # no limit, or halted already: no account to value
            return
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
            point = EquityPoint(step_end_utc, account.cash, account.positions_value, account.equity,
                                self._holdings.exposed())
            return self.record.mark(point, self._prices)

    @property
    def halted(self) -> bool:
        """Halted by the operator or by a reconciliation."""
        return self._halted or (self._reconciler is not None and self._reconciler.halted is not None)

    def sync_journal(self) -> None:
        """Journal every order that changed since it was last journaled (the daemon's persist)."""
        if self._journaling is not None:
            with self._book:
                self._journaling.sync(self.orders())

    def _working(self, symbol: str | None = None) -> list[Order]:
        """The broker's working orders (of `symbol`, or all), less ours it has no trace of."""
        return [o for o in self._broker.open_orders(symbol) if o.client_order_id not in self._gone]

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
        """The day's orders in the order they were made: a resumed day-run's earlier ones too."""
        with self._book:
            merged = {o.client_order_id: o for o in self._resumed.values()}
            merged.update((o.client_order_id, o) for o in self._broker.orders())
            merged.update((o.client_order_id, o) for o in self._local_orders)
            return sorted(merged.values(), key=lambda o: (o.request.submitted_utc, o.client_order_id))

    def open_orders(self) -> list[Order]:
        """Orders still working at the broker (without scanning the run's history)."""
        with self._book:
            return self._working()

    @property
    def broker_connected(self) -> bool:
        return self._broker.connected

    def fills(self) -> Sequence[Fill]:
        with self._book:
            return list(self.record.fills)

    def fills_since(self, count: int) -> list[Fill]:
        """The fills booked after the first `count` (the engine tells strategies of new ones)."""
        with self._book:
            return self.record.fills[count:]

    def account(self) -> AccountSnapshot:
        with self._book:
            return self._broker.account()

    def broker_positions(self) -> list[Position]:
        """Positions as the broker reports them (with average prices)."""
        with self._book:
            return self._broker.positions()

    def _apply(self, fills: list[Fill]) -> None:
        """The broker's new fills: journaled first (each execution once), then counted. Only
        the executions the journal had not booked count (a repeated update, or one an earlier
        day-run booked, is not counted again); on a real account's catch-up they wait for its
        end, since the replayed steps are in the past."""
        if not fills:
            return  # positions change only on fills: nothing to apply, nothing to compare
        if self._journaling is not None:
            held = self._catching_up and not self._simulated
            fills = self._journaling.book_fills(fills, None if held else self._step_end)
            if held:
                self._held_fills.extend(fills)
                fills = []
            self._journaling.sync(self._broker.orders())
        self._count(fills)

    def _count(self, fills: list[Fill], *, replayed: int = 0) -> None:
        """Count fills into the positions, the record and the limits (the first `replayed` an
        earlier day-run of the day booked, and its log told already)."""
        if not fills:
            return
        self._order_changes += 1
        for number, fill in enumerate(fills):
            strategy_id = self._strategy_of.get(fill.client_order_id, fill.strategy)
            if fill.strategy != strategy_id:
                fill = replace(fill, strategy=strategy_id)
            self._holdings.apply(fill)
            self.record.fills.append(fill)
            self._risk.filled(fill)
            self._trade_log.filled(fill, replayed=number < replayed)
        if not self._catching_up:  # a replayed step's positions are the past's, the broker's are now
            # a check, not the booking: a broker that cannot list its positions now (after its
            # retries) is logged and compared at the next fill or reconciliation, and the step
            # goes on; raised here it failed the whole day-run over a GET
            positions = guarded(self._broker.positions)
            if positions is not None:
                self._holdings.mismatches(positions)


def _whole(quantity: object) -> object:
    """A quantity as a plain int when it is a whole number of any integer type (numpy's too);
    anything else is left for `malformed` to reject by name."""
    if isinstance(quantity, bool):
        return quantity
    try:
        return operator.index(quantity)  # type: ignore[call-overload]
    except TypeError:
        return quantity
