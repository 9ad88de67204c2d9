"""What the metrics endpoint exports for one MetricsView: every label set present from the start
(a series that appears only on its first increment hides that increment from increase())."""

from __future__ import annotations

from dataclasses import replace

from mismarterad.core.enums import SystemState
from mismarterad.core.venue_status import VenueStatus
from mismarterad.daemon.metrics import MISMATCH_KINDS, STATUSES, DaemonMetrics, MetricsView

VIEW = MetricsView(
    state=SystemState.RUNNING, session_active=True, clock_unix=1.0, next_start_unix=0.0, next_stop_unix=0.0,
    session_failures=0, session_restarts=0, threads=(), bars_processed={}, last_bar_age_secs=None,
    quality_ratio={}, gaps={}, orders_submitted={}, session_orders={("buy", "accepted"): 2}, fills={},
    positions={}, realized_pnl=0.0, unrealized_pnl=0.0, equity=0.0, daily_loss_limit=0.0, broker_connected=True,
    venue=VenueStatus(), watchdog_healthy=True, symbols=("SPY",))


def _samples(view: MetricsView) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    metrics = DaemonMetrics(lambda: view)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in metrics.registry.collect() for s in family.samples}


def test_every_reconciliation_kind_is_exported_zero_included() -> None:
    samples = _samples(VIEW)
    for kind in MISMATCH_KINDS:
        assert samples[("mismarterad_reconciliation_mismatches_total", (("kind", kind),))] == 0.0
    assert samples[("mismarterad_reconciliation_open_mismatches", ())] == 0.0
    assert samples[("mismarterad_reconciliation_halted", ())] == 0.0
    assert set(MISMATCH_KINDS) == {"unknown_order", "missing_order", "position"}


def test_reconciliation_figures_are_the_views() -> None:
    samples = _samples(replace(VIEW, reconciliation_mismatches={"position": 3, "unknown_order": 1},
                               reconciliation_open=2, reconciliation_halted=True))
    assert samples[("mismarterad_reconciliation_mismatches_total", (("kind", "position"),))] == 3.0
    assert samples[("mismarterad_reconciliation_mismatches_total", (("kind", "unknown_order"),))] == 1.0
    assert samples[("mismarterad_reconciliation_mismatches_total", (("kind", "missing_order"),))] == 0.0
    assert samples[("mismarterad_reconciliation_open_mismatches", ())] == 2.0
    assert samples[("mismarterad_reconciliation_halted", ())] == 1.0


def test_session_orders_carry_every_new_status_and_no_new() -> None:
    assert STATUSES == ("intent", "submitted", "accepted", "partially_filled", "filled", "canceled", "rejected",
                        "expired", "refused")
    samples = _samples(VIEW)
    for side in ("buy", "sell"):
        for status in STATUSES:
            key = ("mismarterad_session_orders", (("side", side), ("status", status)))
            assert samples[key] == (2.0 if (side, status) == ("buy", "accepted") else 0.0)
    assert not any(dict(labels).get("status") == "new" for _name, labels in samples)


def test_the_due_session_and_an_unclean_start_are_exported() -> None:
    samples = _samples(replace(VIEW, session_due=True))
    assert samples[("mismarterad_session_due", ())] == 1.0
    assert samples[("mismarterad_previous_stop_unclean", ())] == 0.0
    died = DaemonMetrics(lambda: VIEW, previous_stop_unclean=True)
    assert died.registry.get_sample_value("mismarterad_previous_stop_unclean") == 1.0


def test_no_created_series_are_exported() -> None:
    metrics = DaemonMetrics(lambda: VIEW)
    metrics.observe_loop("SessionCoordinator", 0.002)
    metrics.decision_latency.observe(0.003)
    metrics.count_error("daemon")
    names = {s.name for family in metrics.registry.collect() for s in family.samples}
    assert "mismarterad_thread_loop_duration_seconds_count" in names and "mismarterad_errors_total" in names
    assert not [name for name in names if name.endswith("_created")]
