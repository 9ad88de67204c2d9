"""DayRunTotals' reconciliation counts: the base the mismatch counter grows from across day-runs."""

from __future__ import annotations

from mismarterad.core.reconciliation import MismatchKind, ReconcilePolicy, ReconciliationStatus
from mismarterad.runs.day_run_totals import DayRunTotals


def test_every_kind_starts_at_zero() -> None:
    assert DayRunTotals().reconciliation == {kind.value: 0 for kind in MismatchKind}


def test_finished_day_runs_add_up_per_kind() -> None:
    totals = DayRunTotals()
    totals.add_reconciliation(ReconciliationStatus(ReconcilePolicy.HALT, 4, None,
                                                   (("unknown_order", 1), ("missing_order", 0), ("position", 2))))
    totals.add_reconciliation(ReconciliationStatus(ReconcilePolicy.ADOPT))  # a run that never checked
    totals.add_reconciliation(ReconciliationStatus(ReconcilePolicy.ADOPT, 1, None, (("position", 1),)))
    assert totals.reconciliation == {"unknown_order": 1, "missing_order": 0, "position": 3}
