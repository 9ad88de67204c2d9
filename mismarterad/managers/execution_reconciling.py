"""How ExecutionManager acts on a reconciliation with the broker (managers/reconciler.py finds
the differences, services/reconciliation.py computes them) by the daemon's `reconcile_policy`.

Part of ExecutionManager (a mixin: its state is the manager's, set in its __init__). "halt"
cancels our open orders and refuses new ones until `resume` (or the next session); "adopt"
takes the broker's word at once. Either way the close brings each session symbol to zero
(`_cancel_strangers`, `_absorb_differences`). Shares adopted so (and those a paper account
carries overnight) get an opening lot at the broker's average price (`carried`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import structlog

from mismarterad.core.errors import BrokerError
from mismarterad.core.orders import CARRIED_LOT, Fill, Order, OrderStatus, Side
from mismarterad.core.reconciliation import Mismatch, MismatchKind, ReconcilePolicy, ReconciliationStatus
from mismarterad.managers.execution_shared import ACCOUNT_OWNER, guarded
from mismarterad.managers.reconciler import OurSide

__all__ = ["ReconcilingMixin"]

log = structlog.get_logger(component="execution_manager")

_WORKING = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


class ReconcilingMixin:
    def _reconcile(self, now_utc: datetime, reason: str) -> None:
        """Compare with the broker (managers/reconciler.py) and act on what is new by the policy."""
        assert self._reconciler is not None
        if self._to_resolve:
            self._resolve_journaled()
        try:
            fresh = self._reconciler.check(self._broker, self._our_side, self._holdings.net,
                                           lambda: self._apply(self._broker.drain_fills()), now_utc, reason)
        except BrokerError as exc:  # the next due check tries again; trading goes on meanwhile
            log.error("reconciliation_failed", check=reason, error=str(exc))
            return
        self._take_back_sent()
        strangers = [m.client_order_id for m in fresh if m.kind is MismatchKind.UNKNOWN_ORDER and m.client_order_id]
        self._cancel_earlier_days({i: self._reconciler.venue_open[i] for i in strangers
                                   if i in self._reconciler.venue_open})
        if not fresh:
            return
        if self._reconciler.settings.policy is ReconcilePolicy.ADOPT:
            self._adopt(fresh)
            return
        summary = "; ".join(f"{m.kind.value} {m.symbol}: {m.detail}" for m in fresh)
        self._reconciler.halted = summary
        log.error("reconciliation_halt", differences=len(fresh), detail=summary,
                  action="our open orders canceled, no new orders until `mismarterctl resume` or the next session")
        self.cancel_open_orders(keep_closing=True)

    def _cancel_earlier_days(self, working: dict[str, Order] | None = None) -> None:
        """Our own orders an earlier day left working (a flatten queued after a kill at the
        close): never wanted today, so canceled (at the session's start, before the open, and at
        each reconciliation); the journal takes their fate. `working`: the orders working at
        the broker that are not today's, read afresh when not given."""
        assert self._journaling is not None
        if working is None:
            working = {o.client_order_id: o for o in guarded(self._broker.venue_open_orders) or []
                       if o.client_order_id not in self._strategy_of}
        for client_order_id in sorted(self._journaling.earlier(list(working))):
            log.warning("earlier_days_order_canceled", client_order_id=client_order_id,
                        symbol=working[client_order_id].request.symbol)
            self._track(client_order_id, working[client_order_id])
            guarded(self._cancel, client_order_id)

    def _our_side(self) -> OurSide:
        assert self._journaling is not None
        journaling = self._journaling
        return OurSide(
            symbols=self._symbols,
            known_today=journaling.known_today() | frozenset(self._strategy_of),
            open_orders={o.client_order_id: o for o in self._working() if o.status in _WORKING},
            ended_unasked={o.client_order_id: o for o in self._broker.orders()
                           if o.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED)
                           and o.client_order_id not in self._cancel_requested
                           and self._strategy_of.get(o.client_order_id) != ACCOUNT_OWNER},  # theirs to end
            cancel_requested=frozenset(self._cancel_requested),
            earlier=journaling.earlier)

    def _adopt(self, differences: Sequence[Mismatch]) -> None:
        """Take the broker's word: its unknown orders are tracked as ACCOUNT_OWNER's (closed by
        the flatten with the rest), our orders it does not know end, its extra shares are
        booked to ACCOUNT_OWNER."""
        for m in differences:
            if m.kind is MismatchKind.POSITION:
                self._adopt_shares(m.symbol, m.broker - m.ours, self._broker_averages().get(m.symbol, 0.0))
            elif m.kind is MismatchKind.UNKNOWN_ORDER and m.client_order_id is not None:
                assert self._reconciler is not None
                if self._track(m.client_order_id, self._reconciler.venue_open.get(m.client_order_id)) is not None:
                    self._strategy_of.setdefault(m.client_order_id, ACCOUNT_OWNER)
            elif m.kind is MismatchKind.MISSING_ORDER and m.client_order_id is not None:
                self._forget(m.client_order_id)
            log.warning("reconciliation_adopted", kind=m.kind.value, symbol=m.symbol,
                        client_order_id=m.client_order_id, broker=m.broker, ours=m.ours)

    def _track(self, client_order_id: str, seen: Order | None) -> Order | None:
        """Have the broker track an order that is not ours, counting what it filled before as
        known (`seen`, the broker's report of it): those shares are in the broker's position,
        which the position comparison accounts for, so they must not come out as fills too."""
        return guarded(self._broker.lookup, client_order_id, seen)

    def _take_back_sent(self) -> None:
        """An intent closed as never sent that the broker works after all (its POST was in flight
        at the crash): the broker tracks it again and the journal takes its word."""
        assert self._reconciler is not None and self._journaling is not None
        for client_order_id in self._reconciler.venue_open:
            held = self._resumed.get(client_order_id)
            if held is not None and held.status is OrderStatus.REFUSED:
                report = guarded(self._broker.lookup, client_order_id, self._journaling.counted(held))
                if report is not None:
                    log.error("intent_sent_after_all", client_order_id=client_order_id, status=report.status.value)
                    self._resumed[client_order_id] = report
                    self._journaling.record([report])

    def _forget(self, client_order_id: str) -> None:
        """An order of ours the broker has no trace of: ended here, so nothing waits on it."""
        self._gone.add(client_order_id)
        order = self._current(client_order_id)
        if order.status.is_open:
            ended = replace(order, status=OrderStatus.CANCELED, reason="unknown_at_broker")
            self._resumed[client_order_id] = ended
            if self._journaling is not None:
                self._journaling.record([ended])

    def _cancel_strangers(self) -> None:
        """The close on a real account: orders working in the session's symbols that are not
        ours (placed by hand, left by another program) are canceled too, or one could fill after
        the flatten and leave a position overnight. The session's symbols are the daemon's."""
        for order in guarded(self._broker.venue_open_orders) or []:
            if order.request.symbol in self._symbols and order.client_order_id not in self._strategy_of:
                log.warning("foreign_order_canceled", client_order_id=order.client_order_id,
                            symbol=order.request.symbol, reason="the close flattens the session's symbols")
                self._track(order.client_order_id, order)
                self._strategy_of[order.client_order_id] = ACCOUNT_OWNER
                guarded(self._cancel, order.client_order_id)

    def _absorb_differences(self) -> None:
        """The close on a real account: shares of the session's symbols the broker holds and no
        strategy explains are booked to ACCOUNT_OWNER, so the flatten leaves the broker's
        position in each of them at zero (whatever the policy: a flatten is never refused)."""
        ours = self._holdings.net()
        for position in guarded(self._broker.positions) or []:
            extra = position.quantity - ours.get(position.symbol, 0)
            if position.symbol in self._symbols and extra:
                log.warning("account_position_adopted", symbol=position.symbol, quantity=extra, owner=ACCOUNT_OWNER,
                            note="held at the broker beyond the strategies' shares; closed by the flatten")
                self._adopt_shares(position.symbol, extra, position.avg_price)

    def _adopt_shares(self, symbol: str, quantity: int, avg_price: float) -> None:
        """Book shares no strategy explains to ACCOUNT_OWNER, with an opening lot at the broker's
        average price (stamped with the step, or before the first one with the session's
        open): trades, P&L and the report's rows match the flatten's fill against it, instead
        of reading it as a short opened at the close."""
        self._holdings.adopt(ACCOUNT_OWNER, symbol, quantity)
        at = self._step_end if self._step_end is not None else self._session_open
        self._carried.append(Fill("", symbol, Side.BUY if quantity > 0 else Side.SELL, abs(quantity), avg_price, 0.0,
                                  at, ACCOUNT_OWNER, CARRIED_LOT))

    def carried(self) -> list[Fill]:
        """The opening lots of the shares booked to ACCOUNT_OWNER (carried overnight, adopted
        from the broker), as fills at their average price: trades are matched from them first."""
        with self._book:
            return list(self._carried)

    def _broker_averages(self) -> dict[str, float]:
        return {p.symbol: p.avg_price for p in guarded(self._broker.positions) or []}

    def reconciliation_status(self) -> ReconciliationStatus | None:
        """The day-run's reconciliations (None where the account is not reconciled)."""
        with self._book:
            return self._reconciler.status() if self._reconciler is not None else None
