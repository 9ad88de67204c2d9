"""Reconciler: when a day-run compares itself with the broker, and what it remembers of it.

A real account is checked at the first live step of a day-run (after a restart's catch-up),
at the first step after the broker's update stream reconnected (updates may have been lost),
and every `every_minutes` of session time. Each check asks the broker afresh for its working
orders, looks up each of our open orders it did not list, applies the fills that brought, and
compares (services/reconciliation.py, a pure function). A position difference is taken only if
a second look right away sees it too: a fill landing between the two questions (the broker's
position already moved, its update not here yet) is no difference.

Each difference is counted once while it lasts (by its kind, symbol and order) and logged;
what to do about it is ExecutionManager's (the policy). Kept under ExecutionManager's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from mismarterad.core.broker import Broker
from mismarterad.core.orders import Order, OrderStatus
from mismarterad.core.reconciliation import Mismatch, MismatchKind, ReconcilePolicy, ReconciliationStatus
from mismarterad.services.reconciliation import find_mismatches

__all__ = ["ReconcileSettings", "Reconciler"]

log = structlog.get_logger(component="reconciliation")


@dataclass(frozen=True, slots=True)
class ReconcileSettings:
    policy: ReconcilePolicy = ReconcilePolicy.HALT
    every_minutes: int = 5


@dataclass(frozen=True, slots=True)
class OurSide:
    """Our half of a comparison, gathered by ExecutionManager."""

    symbols: frozenset[str]
    known_today: frozenset[str]  # every id journaled today, any status
    open_orders: Mapping[str, Order]  # ours, working (accepted or partially filled)
    ended_unasked: Mapping[str, Order]  # ours, canceled or expired at the broker without our cancel
    cancel_requested: frozenset[str]
    earlier: Callable[[list[str]], set[str]]  # which ids the journal has from earlier days


class Reconciler:
    def __init__(self, settings: ReconcileSettings) -> None:
        self.settings = settings
        self._next_utc: datetime | None = None  # None: the first live step checks
        self._reconnects: int | None = None
        self._seen: set[tuple[str, str, str | None]] = set()
        self._counts = {kind.value: 0 for kind in MismatchKind}
        self._checks = 0
        self._last_utc: datetime | None = None
        self._open: tuple[Mismatch, ...] = ()
        self.halted: str | None = None
        self.venue_open: dict[str, Order] = {}  # the broker's working orders at the newest check

    def due(self, step_end_utc: datetime, reconnects: int) -> str | None:
        """Why a check is due at this live step (None: not due)."""
        if self._next_utc is None:
            self._reconnects = reconnects
            return "start"
        if self._reconnects is not None and reconnects != self._reconnects:
            self._reconnects = reconnects
            return "reconnect"
        return "periodic" if step_end_utc >= self._next_utc else None

    def check(self, broker: Broker, ours: Callable[[], OurSide], ours_net: Callable[[], dict[str, int]],
              settle: Callable[[], None], now_utc: datetime, reason: str) -> list[Mismatch]:
        """Compare now; return the differences not seen before (each logged and counted)."""
        self._next_utc = now_utc + timedelta(minutes=self.settings.every_minutes)
        self._checks += 1
        self._last_utc = now_utc
        found = self._compare(broker, ours, ours_net, settle)
        positions = {m.key for m in found if m.kind is MismatchKind.POSITION}
        if positions:  # taken only if a second look sees it too (see the module docstring)
            again = {m.key for m in self._compare(broker, ours, ours_net, settle)}
            found = [m for m in found if m.kind is not MismatchKind.POSITION or m.key in again]
        self._open = tuple(found)
        fresh = [m for m in found if m.key not in self._seen]
        for mismatch in fresh:
            self._seen.add(mismatch.key)
            self._counts[mismatch.kind.value] += 1
            log.error("reconciliation_mismatch", kind=mismatch.kind.value, symbol=mismatch.symbol,
                      client_order_id=mismatch.client_order_id, ours=mismatch.ours, broker=mismatch.broker,
                      detail=mismatch.detail, check=reason, policy=self.settings.policy.value)
        log.info("reconciled", check=reason, differences=len(found), new=len(fresh))
        return fresh

    def _compare(self, broker: Broker, ours: Callable[[], OurSide], ours_net: Callable[[], dict[str, int]],
                 settle: Callable[[], None]) -> list[Mismatch]:
        venue_open = broker.venue_open_orders()
        self.venue_open = {o.client_order_id: o for o in venue_open}
        before = ours()
        listed = {o.client_order_id for o in venue_open}
        reports: dict[str, Order | None] = {i: broker.lookup(i, o) for i, o in before.open_orders.items()
                                            if i not in listed}
        settle()  # the fills those lookups brought are ours before positions are compared
        side = ours()
        # an order the broker ended unasked, by a trade update before this check, is compared as
        # the working order we knew, against the broker's word of it
        today_open = dict(before.open_orders)
        for i, ended in {**before.ended_unasked, **side.ended_unasked}.items():
            today_open[i] = replace(ended, status=OrderStatus.ACCEPTED)
            reports[i] = ended
        strangers = [o.client_order_id for o in venue_open if o.client_order_id not in side.known_today]
        return find_mismatches(
            symbols=side.symbols, known_today=side.known_today, ours_earlier=side.earlier(strangers),
            today_open=today_open, venue_open=venue_open, venue_reports=reports,
            cancel_requested=side.cancel_requested, venue_positions=broker.positions(), ours=ours_net())

    def acknowledge(self) -> tuple[Mismatch, ...]:
        """An operator's `resume`: the halt ends and the open differences are accepted (they are
        counted already and are not held against the account again)."""
        acknowledged, self._open, self.halted = self._open, (), None
        return acknowledged

    def status(self) -> ReconciliationStatus:
        return ReconciliationStatus(self.settings.policy, self._checks, self._last_utc,
                                    tuple(self._counts.items()), self._open, self.halted)
