"""What the daemon's finished day-runs added up to: the base its Prometheus counters grow from.

A counter must never go down, but each day-run has its own ExecutionManager; the running
day-run's own figures are added to these at scrape time (daemon/views.py:metrics_view).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mismarterad.core.orders import OrderStatus
from mismarterad.core.reconciliation import MismatchKind, ReconciliationStatus
from mismarterad.core.risk import RiskCheck
from mismarterad.managers.execution_manager import ExecutionManager

__all__ = ["DayRunTotals"]


@dataclass
class DayRunTotals:
    orders: dict[str, int] = field(default_factory=lambda: {"buy": 0, "sell": 0})  # sent, by side
    fills: dict[str, int] = field(default_factory=lambda: {"buy": 0, "sell": 0})
    refusals: dict[str, int] = field(default_factory=lambda: {check.value: 0 for check in RiskCheck})
    loss_halts: int = 0
    # differences found with the broker, by MismatchKind value (every kind, 0 included)
    reconciliation: dict[str, int] = field(default_factory=lambda: {kind.value: 0 for kind in MismatchKind})

    def add(self, execution: ExecutionManager) -> None:
        """Count a day-run that ended for good (not one that is restarted: it replays its day)."""
        for order in execution.orders():
            if order.status is not OrderStatus.REFUSED:  # refused orders never reached the broker
                self.orders[order.request.side.value] += 1
        for fill in execution.fills():
            self.fills[fill.side.value] += 1
        for refusal in execution.refusals():
            self.refusals[refusal.check.value] += 1
        self.loss_halts += len(execution.loss_halts())

    def add_reconciliation(self, status: ReconciliationStatus) -> None:
        """Count a finished day-run's differences with the broker. Unlike `add`, this is called
        for every finished day-run, a restarted one included: the restart's Reconciler starts
        afresh, so the differences its predecessor found would otherwise drop out of the counter."""
        for kind, n in status.counts:
            self.reconciliation[kind] = self.reconciliation.get(kind, 0) + n
