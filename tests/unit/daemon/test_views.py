"""The daemon's views are pure functions of one DaemonSnapshot: no daemon needs to run."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from support.daemon_snapshots import (
    HALT,
    NOW,
    OPEN,
    RECONCILED,
    SHORT,
    STRANGER,
    daemon_snapshot,
    pipeline_snapshot,
    trading_snapshot,
)

from mismarterad.config.risk_config import RiskConfig
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Position
from mismarterad.core.paper_account import PaperBalance
from mismarterad.core.read_model import PipelineSnapshot, QualitySnapshot, TradingSnapshot
from mismarterad.core.reconciliation import ReconciliationStatus
from mismarterad.core.risk import RiskCheck
from mismarterad.daemon.control import DaemonSnapshot
from mismarterad.daemon.metrics import CHECKS
from mismarterad.daemon.views import (
    account_record,
    last_bar_age,
    metrics_view,
    orders_view,
    pnl_view,
    positions_view,
    quality_view,
    status_line,
    status_view,
    threads_view,
    trades_view,
)


def test_status_reads_only_the_snapshot() -> None:
    s = daemon_snapshot(pipeline_snapshot(), halted=HALT)
    view = status_view(s)
    assert view["clock"] == "2011-01-04T09:40:30-05:00" and view["session_date"] == "2011-01-04"
    # the planned window began at 09:00: the next start still ahead is the next day's
    assert view["next_start"] == "2011-01-05T09:00:00-05:00" and view["next_stop"] == "2011-01-04T16:05:00-05:00"
    assert view["halted"] == {"since": "2011-01-04T09:35:00-05:00", "by": "uid 1000 (alice)",
                              "reason": "broker outage", "flatten": True}
    assert view["loss_halt"] == {"time": "2011-01-04T09:38:00-05:00", "start_equity": 10_000.0, "equity": 9_400.0,
                                 "limit": 500.0}
    assert view["bars_processed"] == 9 and view["last_bar_age_seconds"] == 90.0
    assert view["position_mismatches"] == 1
    assert status_line(s) == "RUNNING HALTED LOSS-HALTED session=2011-01-04 clock=2011-01-04 09:40 last_bar_age=90s"


def test_not_halted_is_null_and_the_halt_shows_outside_a_session() -> None:
    view = status_view(daemon_snapshot(PipelineSnapshot(TradingSnapshot(), QualitySnapshot(), ())))
    assert view["halted"] is None and view["loss_halt"] is None
    idle = daemon_snapshot(None, halted=HALT, day_run=False)
    view = status_view(idle)
    assert view["session_date"] is None and view["halted"]["by"] == "uid 1000 (alice)" and view["loss_halt"] is None
    assert status_line(idle).startswith("RUNNING HALTED session=- ")
    assert metrics_view(idle).halted and not metrics_view(daemon_snapshot(None)).halted


def test_a_feed_that_never_delivers_shows_a_growing_age() -> None:
    s = daemon_snapshot(PipelineSnapshot(TradingSnapshot(), QualitySnapshot(), ()))
    assert last_bar_age(s) == (NOW - OPEN - timedelta(minutes=1)).total_seconds()
    assert last_bar_age(daemon_snapshot(None)) is None


def test_lists_carry_the_strategy() -> None:
    s = daemon_snapshot(pipeline_snapshot())
    assert [o["strategy"] for o in orders_view(s)] == ["a#0", "a#0", "b#1"]
    [trade] = trades_view(s)
    assert (trade["strategy"], trade["entry_price"], trade["exit_price"], trade["pnl"]) == ("a#0", 127.0, 127.5, 5.0)
    assert positions_view(s) == [{"symbol": "SPY", "quantity": 4, "avg_price": "127.2", "strategies": "b#1=4"}]
    assert quality_view(s) == [{"symbol": "SPY", "quality_pct": 90.0, "gaps": 1}]
    rows = threads_view(s, now_monotonic=52.5)
    assert rows[0]["last_loop_age_seconds"] == 2.5 and rows[1]["last_loop_age_seconds"] is None
    assert rows[1]["session_date"] == "2011-01-04"


def test_pnl_lists_every_configured_strategy_then_the_others_and_a_total() -> None:
    view = pnl_view(daemon_snapshot(pipeline_snapshot()))
    assert view["date"] == "2011-01-04" and view["prices_at"] == "2011-01-04T09:39:00-05:00"
    rows = {r["strategy"]: r for r in view["strategies"]}
    assert list(rows) == ["sma_cross#0", "a#0", "b#1", "total"]  # the config's, then the fills' owners
    assert rows["sma_cross#0"] == {"strategy": "sma_cross#0", "realized": 0, "unrealized": 0, "total": 0,
                                   "fees": 0, "trades": 0}
    assert (rows["a#0"]["realized"], rows["a#0"]["unrealized"], rows["a#0"]["trades"]) == (5.0, 0, 1)
    assert rows["b#1"]["unrealized"] is None and rows["total"]["total"] is None  # SPY has no bar in view yet
    bar = Bar("SPY", "1m", OPEN + timedelta(minutes=8), 127.5, 128.1, 127.4, 128.0, 900)
    priced = replace(pipeline_snapshot(), trading=replace(trading_snapshot(), last_bars=(bar,)))
    rows = {r["strategy"]: r for r in pnl_view(daemon_snapshot(priced))["strategies"]}
    assert rows["b#1"]["unrealized"] == round(4 * (128.0 - 127.2), 6)
    assert rows["total"] == {"strategy": "total", "realized": 5.0, "unrealized": rows["b#1"]["unrealized"],
                             "total": round(5.0 + 4 * 0.8, 6), "fees": 0, "trades": 1}


def test_pnl_outside_a_day_run_points_at_the_report() -> None:
    idle = replace(daemon_snapshot(None, day_run=False), last_report={"date": "2011-01-03", "path": "/r/2011-01-03"})
    view = pnl_view(idle)
    assert {k: view[k] for k in ("date", "prices_at", "equity", "cash", "strategies", "note")} == {
        "date": None, "prices_at": None, "equity": None, "cash": None, "strategies": [],
        "note": "no session is running; the last report: mismarterctl report 2011-01-03"}


def test_metrics_add_this_run_to_earlier_totals() -> None:
    v = metrics_view(daemon_snapshot(pipeline_snapshot()))
    assert v.orders_submitted == {"buy": 5, "sell": 4} and v.fills == {"buy": 5, "sell": 4}
    assert v.session_orders == {("buy", "filled"): 1, ("sell", "filled"): 1, ("buy", "accepted"): 1}
    assert v.realized_pnl == 5.0 and v.positions == {"SPY": 4} and v.equity == 10_513.0
    assert round(v.unrealized_pnl, 6) == round(513.0 - 4 * 127.2, 6)
    assert v.position_mismatches == 1 and v.daily_loss_limit == 500.0 and v.quality_ratio == {"SPY": 0.9}
    assert set(v.risk_refusals) == set(CHECKS) == {c.value for c in RiskCheck}  # every label, 0 included
    assert v.risk_refusals["max_open_orders"] == 3 and v.risk_refusals["halted"] == 1
    assert v.risk_refusals["buying_power"] == 4 and v.risk_refusals["allow_short"] == 0
    assert v.daily_loss_halts == 2 and not v.halted


def test_the_daily_loss_limit_metric_is_the_effective_one() -> None:
    assert metrics_view(daemon_snapshot(None, session_risk=RiskConfig(daily_loss_limit=250.0))).daily_loss_limit == 250.0
    lifted = RiskConfig.model_validate({"daily_loss_limit": None})  # the session lifts the daemon's limit
    assert metrics_view(daemon_snapshot(None, session_risk=lifted)).daily_loss_limit == 0.0


def test_outside_a_day_run_every_list_is_empty() -> None:
    s = daemon_snapshot(None)
    assert orders_view(s) == trades_view(s) == positions_view(s) == quality_view(s) == threads_view(s) == []
    assert metrics_view(s).orders_submitted == {"buy": 3, "sell": 3}


def _reconciling(status: ReconciliationStatus | None, **kwargs: object) -> DaemonSnapshot:
    trading = replace(trading_snapshot(), reconciliation=status)
    return daemon_snapshot(PipelineSnapshot(trading, QualitySnapshot(), ()), **kwargs)  # type: ignore[arg-type]


def test_status_shows_the_reconciliation_with_earlier_day_runs_counted() -> None:
    view = status_view(_reconciling(RECONCILED, reconciliation_before={"missing_order": 2, "position": 1}))
    assert view["reconciliation"] == {
        "policy": "halt", "checks": 3, "last_check": "2011-01-04T09:40:00-05:00",
        "counts": {"unknown_order": 1, "missing_order": 2, "position": 2},
        "day_run_counts": {"unknown_order": 1, "missing_order": 0, "position": 1},
        "open": [{"kind": "unknown_order", "symbol": "SPY", "client_order_id": "x-1", "ours": 0, "broker": 10,
                  "detail": STRANGER.detail},
                 {"kind": "position", "symbol": "SPY", "client_order_id": None, "ours": 4, "broker": 5,
                  "detail": SHORT.detail}],
        "halted": RECONCILED.halted,
    }
    assert status_line(_reconciling(RECONCILED)).startswith("RUNNING LOSS-HALTED RECONCILE-HALTED session=")


def test_outside_a_reconciled_day_run_only_the_earlier_counts_show() -> None:
    for s in (daemon_snapshot(None, reconciliation_before={"position": 3}),
              _reconciling(None, reconciliation_before={"position": 3})):  # a paper account is not reconciled
        record = status_view(s)["reconciliation"]
        assert record == {"policy": "halt", "checks": 0, "last_check": None,
                          "counts": {"unknown_order": 0, "missing_order": 0, "position": 3},
                          "day_run_counts": {"unknown_order": 0, "missing_order": 0, "position": 0},
                          "open": [], "halted": None}
        v = metrics_view(s)
        assert v.reconciliation_mismatches == record["counts"]
        assert v.reconciliation_open == 0 and not v.reconciliation_halted
    assert "RECONCILE" not in status_line(daemon_snapshot(None))


def test_metrics_count_reconciliation_across_day_runs() -> None:
    v = metrics_view(_reconciling(RECONCILED, reconciliation_before={"unknown_order": 2}))
    assert v.reconciliation_mismatches == {"unknown_order": 3, "missing_order": 0, "position": 1}
    assert v.reconciliation_open == 2 and v.reconciliation_halted
    clean = replace(RECONCILED, open=(), halted=None)
    v = metrics_view(_reconciling(clean))
    assert v.reconciliation_open == 0 and not v.reconciliation_halted
    assert v.reconciliation_mismatches == {"unknown_order": 1, "missing_order": 0, "position": 1}


PAPER = PaperBalance(98_727.7, (Position("SPY", 10, 127.23),))


def test_status_shows_the_brokers_account_in_a_session_and_the_kept_paper_account_between() -> None:
    running = replace(daemon_snapshot(pipeline_snapshot()), paper_account=PAPER)
    assert status_view(running)["account"] == {"cash": 10_000.0, "equity": 10_513.0, "positions_value": 513.0}
    idle = replace(daemon_snapshot(None, day_run=False), paper_account=PAPER)
    assert account_record(idle) == {"cash": 98_727.7, "equity": 98_727.7 + 1_272.3, "positions_value": 1_272.3}
    assert positions_view(idle) == [{"symbol": "SPY", "quantity": 10, "avg_price": "127.23", "strategies": ""}]
    assert account_record(daemon_snapshot(None, day_run=False)) is None, "a real account is not asked between sessions"
