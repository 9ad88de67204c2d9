"""How ExecutionManager resumes a day from its journal (managers/order_journaling.py).

Part of ExecutionManager (a mixin: its state is the manager's, set in its __init__). An order
gets the next id of its strategy and symbol, which a resumed day recomputes the same; an id the
journal holds for the same decision is adopted instead of sent, one it holds for a different
decision is skipped. Before the first step, the journal's open orders are looked up at the
broker so it tracks them again, and an intent it never got is closed as never sent.

A simulated account (the paper broker) lives in the process, so a restart rebuilds it from the
journal like the strategies' positions: its working orders are restored by the same lookups,
its journaled fills are booked into it at the steps that first counted them, and up to the
newest step an earlier run decided an order at (`decided_until`) its catch-up sends nothing,
as a real account's does. The account's money is then the day's opening plus its journaled
fills whatever the strategies decide on the replay (a halt, changed params or limits, an
operator's flatten before the restart); past that step the catch-up trades the passed bars,
as a simulated day-run started late does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import cast

import structlog

from mismarterad.core.broker import SimulatedBroker
from mismarterad.core.errors import BrokerError
from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus, OrderType, Side
from mismarterad.core.risk import RiskCheck

__all__ = ["ResumingMixin"]

log = structlog.get_logger(component="execution_manager")


class ResumingMixin:
    def _request(self, strategy_id: str, symbol: str, side: Side, quantity: object, order_type: OrderType,
                 limit: float | None, stop: float | None, now_utc: datetime, *, closing: bool) -> OrderRequest:
        """The order with its id: the next of its (strategy, symbol), skipping an id the journal
        holds for a different order (a resumed day that decided differently)."""
        while True:
            with self._lock:
                client_order_id = self._ids.next(strategy_id, symbol, closing=closing)
            request = OrderRequest(client_order_id, symbol, side, quantity, order_type, limit, stop,  # type: ignore[arg-type]
                                   now_utc, strategy_id)
            journaled = self._journaling.resumed(client_order_id) if self._journaling is not None else None
            if journaled is None or _same_intent(journaled.request, request):
                self._strategy_of[client_order_id] = strategy_id
                return request
            log.warning("order_id_skipped", client_order_id=client_order_id,
                        reason="journaled for a different order before the restart")

    def _adopted(self, request: OrderRequest, *, closing: bool) -> Order | None:
        """An order that an earlier day-run of the day journaled under this id: the same decision
        made again by the resumed strategies. It is never sent again, nor checked again (a halt
        since does not undo it); what the broker (or the journal) knows of it is the answer."""
        if self._journaling is None or self._journaling.resumed(request.client_order_id) is None:
            return None
        self._risk.sent(request)
        if closing:
            self._closing.add(request.client_order_id)
        current = self._current(request.client_order_id)
        if closing and current.status is OrderStatus.REFUSED:
            return None  # a flatten that never reached the broker is sent now: a flatten is never skipped
        log.info("order_adopted", client_order_id=request.client_order_id, strategy=request.strategy,
                 symbol=request.symbol, status=current.status.value)
        return current

    def _replay(self, step_end_utc: datetime) -> None:
        """Count the earlier runs' fills due at this step (a simulated broker books them too), and
        at a live step the fills a catch-up held (stamped with this step: a later resume counts
        them here too)."""
        if self._journaling is None:
            return
        replayed = self._journaling.replay_due(step_end_utc, live=not self._catching_up)
        if self._simulated:
            self._rebuilt_broker().book_journaled(replayed)
        held: list[Fill] = []
        if not self._catching_up and self._held_fills:
            self._journaling.applied(self._held_fills, step_end_utc)
            held, self._held_fills = self._held_fills, []
        self._count([*replayed, *held], replayed=len(replayed))  # one count: compared with the broker once

    def _journal_holds(self, step_end_utc: datetime) -> bool:
        """Whether an earlier day-run of the day decided orders up to this step or later: the
        journal holds the step, and a simulated account's catch-up sends nothing there."""
        until = self._journaling.decided_until if self._journaling is not None else None
        return until is not None and step_end_utc <= until

    def _rebuilt_broker(self) -> SimulatedBroker:
        return cast(SimulatedBroker, self._broker)  # `capabilities.simulated`: the broker rebuilds from the journal

    def _current(self, client_order_id: str) -> Order:
        for order in self._broker.orders():
            if order.client_order_id == client_order_id:
                return order
        return self._resumed[client_order_id]

    def _resolve_journaled(self) -> None:
        """Ask the broker for each journaled order still to resolve. A call that fails leaves the
        order to resolve at the next reconciliation: only the broker's "no such order" closes an
        intent as never sent."""
        assert self._journaling is not None
        for client_order_id in sorted(self._to_resolve):
            order = self._resumed[client_order_id]
            try:
                report = self._broker.lookup(client_order_id, self._journaling.counted(order))
            except BrokerError as exc:
                log.error("order_lookup_failed", client_order_id=client_order_id, error=str(exc),
                          note="looked up again at the next reconciliation; never resent")
                continue
            self._to_resolve.discard(client_order_id)
            if report is not None:
                self._resumed[order.client_order_id] = report
                if report.filled_quantity <= self._journaling.counted(report).filled_quantity:
                    self._journaling.record([report])  # else journaled with its fills, when drained:
                    # a kill between must not leave a filled row without its fills
                log.info("order_resumed", client_order_id=order.client_order_id, strategy=order.request.strategy,
                         symbol=order.request.symbol, status=report.status.value)
            elif order.status in (OrderStatus.INTENT, OrderStatus.SUBMITTED):
                never = replace(order, status=OrderStatus.REFUSED, reason=RiskCheck.BAR_PASSED.value,
                                detail="never reached the broker before the restart: not sent late")
                self._resumed[order.client_order_id] = never
                self._journaling.record([never])
                log.warning("intent_never_sent", client_order_id=order.client_order_id,
                            strategy=order.request.strategy, symbol=order.request.symbol,
                            note="the broker has no such order; its bar has passed, so it is not sent")


def _same_intent(journaled: OrderRequest, request: OrderRequest) -> bool:
    """Whether a resumed strategy decided the order journaled under this id (not another one).
    The step counts: a replay decides again at the step it decided at, while an order alike in
    every other way made later (a pre-close flatten after an operator's flatten of the same
    shares, which the replay does not repeat) is a new order and must be sent."""
    return (journaled.symbol, journaled.side, journaled.quantity, journaled.type, journaled.limit_price,
            journaled.stop_price, journaled.strategy, journaled.submitted_utc) == (
        request.symbol, request.side, request.quantity, request.type, request.limit_price, request.stop_price,
        request.strategy, request.submitted_utc)
