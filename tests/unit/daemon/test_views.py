"""The daemon's views are pure functions of one DaemonSnapshot: no daemon needs to run."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mismarterad.config.daemon_config import DaemonConfig
from mismarterad.config.risk_config import RiskConfig
from mismarterad.config.session_config import load_session_config
from mismarterad.core.enums import SystemState
from mismarterad.core.orders import AccountSnapshot, Fill, Order, OrderRequest, OrderStatus, OrderType, Position, Side
from mismarterad.core.read_model import (
    PipelineSnapshot,
    PositionMismatch,
    QualitySnapshot,
    StrategyPosition,
    ThreadSnapshot,
    TradingSnapshot,
)
from mismarterad.core.reconciliation import Mismatch, MismatchKind, ReconcilePolicy, ReconciliationStatus
from mismarterad.core.risk import LossHalt, RiskCheck
from mismarterad.daemon.control import DaemonSnapshot, DayRunSnapshot
from mismarterad.core.halt import HaltState
from mismarterad.core.paper_account import PaperBalance
from mismarterad.daemon.metrics import CHECKS
from mismarterad.daemon.views import (
    account_record,
    last_bar_age,
    metrics_view,
    orders_view,
    positions_view,
    quality_view,
    status_line,
    status_view,
    threads_view,
    trades_view,
)
from mismarterad.services.session_plan import SessionWindow

REPO = Path(__file__).resolve().parents[3]
NY = ZoneInfo("America/New_York")
OPEN = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)
NOW = OPEN + timedelta(minutes=10, seconds=30)


HALT = HaltState(OPEN + timedelta(minutes=5), "uid 1000 (alice)", "broker outage", True)


def _snapshot(pipeline: PipelineSnapshot | None, *, halted: HaltState | None = None, day_run: bool = True,
              session_risk: RiskConfig | None = None,
              reconciliation_before: dict[str, int] | None = None) -> DaemonSnapshot:
    config = load_session_config(REPO / "session_configs" / "spy_2011_backtest.json")
    if session_risk is not None:
        config = config.model_copy(update={"risk": session_risk})
    run = None if not day_run else DayRunSnapshot(date(2011, 1, 4), 7, 100.0, OPEN, OPEN + timedelta(hours=6, minutes=30), False, config,
                         pipeline)
    return DaemonSnapshot(
        state=SystemState.RUNNING, error=None, clock_utc=NOW, clock_kind="ReplayClock", timezone=NY,
        session_active=True, planned=SessionWindow(date(2011, 1, 4), OPEN - timedelta(minutes=30),
                                                   OPEN + timedelta(hours=6, minutes=35)),
        following=SessionWindow(date(2011, 1, 5), OPEN + timedelta(days=1, minutes=-30),
                                OPEN + timedelta(days=1, hours=6, minutes=35)),
        day_run=run, halted=halted, session_failures=0, session_restarts=0, watchdog_healthy=True,
        uptime_secs=12.34, metrics_port=9108, last_report=None, config_path=Path("/etc/daemon.toml"),
        daemon_config=DaemonConfig(session_config=Path("/etc/session.json"), risk=RiskConfig(daily_loss_limit=500.0)),
        session_config=config, orders_before={"buy": 3, "sell": 3}, fills_before={"buy": 3, "sell": 3},
        refusals_before={"max_open_orders": 2, "halted": 1}, loss_halts_before=1,
        reconciliation_before=reconciliation_before or {})


def _trading() -> TradingSnapshot:
    buy = OrderRequest("o1", "SPY", Side.BUY, 10, OrderType.MARKET, None, None, OPEN + timedelta(minutes=1), "a#0")
    sell = OrderRequest("o2", "SPY", Side.SELL, 10, OrderType.MARKET, None, None, OPEN + timedelta(minutes=5),
                        "a#0")
    rest = OrderRequest("o3", "SPY", Side.BUY, 5, OrderType.LIMIT, 120.0, None, OPEN + timedelta(minutes=6), "b#1")
    fills = (Fill("o1", "SPY", Side.BUY, 10, 127.0, 0.0, OPEN + timedelta(minutes=1), "a#0"),
             Fill("o2", "SPY", Side.SELL, 10, 127.5, 0.0, OPEN + timedelta(minutes=5), "a#0"),
             Fill("o4", "SPY", Side.BUY, 4, 127.2, 0.0, OPEN + timedelta(minutes=7), "b#1"))
    orders = (Order(buy, OrderStatus.FILLED, 10, 127.0, OPEN + timedelta(minutes=1)),
              Order(sell, OrderStatus.FILLED, 10, 127.5, OPEN + timedelta(minutes=5)),
              Order(rest, OrderStatus.ACCEPTED))
    return TradingSnapshot(
        session_date=date(2011, 1, 4), bars_processed=9, bars_by_series=((("SPY", "1m"), 9),),
        last_bar_end_utc=OPEN + timedelta(minutes=9), account=AccountSnapshot(10_000.0, 10_513.0, 513.0),
        broker_positions=(Position("SPY", 4, 127.2),), strategy_positions=(StrategyPosition("b#1", "SPY", 4),),
        position_mismatches=(PositionMismatch("SPY", 4, 5),), open_orders=(orders[2],), orders=orders,
        fills=fills, refusals_by_check=(("max_open_orders", 1), ("buying_power", 4)),
        loss_halt=LossHalt(OPEN + timedelta(minutes=8), date(2011, 1, 4), 10_000.0, 9_400.0, 500.0), loss_halts=1)


def _pipeline() -> PipelineSnapshot:
    threads = (ThreadSnapshot("SessionCoordinator", True, 50.0, 0, 9),
               ThreadSnapshot("AnalysisEngine", False, None, 2, 8, (("session_date", "2011-01-04"),)))
    return PipelineSnapshot(_trading(), QualitySnapshot((("SPY", 90.0),), (("SPY", 1),)), threads)


def test_status_reads_only_the_snapshot() -> None:
    s = _snapshot(_pipeline(), halted=HALT)
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
    view = status_view(_snapshot(PipelineSnapshot(TradingSnapshot(), QualitySnapshot(), ())))
    assert view["halted"] is None and view["loss_halt"] is None
    idle = _snapshot(None, halted=HALT, day_run=False)
    view = status_view(idle)
    assert view["session_date"] is None and view["halted"]["by"] == "uid 1000 (alice)" and view["loss_halt"] is None
    assert status_line(idle).startswith("RUNNING HALTED session=- ")
    assert metrics_view(idle).halted and not metrics_view(_snapshot(None)).halted


def test_a_feed_that_never_delivers_shows_a_growing_age() -> None:
    s = _snapshot(PipelineSnapshot(TradingSnapshot(), QualitySnapshot(), ()))
    assert last_bar_age(s) == (NOW - OPEN - timedelta(minutes=1)).total_seconds()
    assert last_bar_age(_snapshot(None)) is None


def test_lists_carry_the_strategy() -> None:
    s = _snapshot(_pipeline())
    assert [o["strategy"] for o in orders_view(s)] == ["a#0", "a#0", "b#1"]
    [trade] = trades_view(s)
    assert (trade["strategy"], trade["entry_price"], trade["exit_price"], trade["pnl"]) == ("a#0", 127.0, 127.5, 5.0)
    assert positions_view(s) == [{"symbol": "SPY", "quantity": 4, "avg_price": "127.2", "strategies": "b#1=4"}]
    assert quality_view(s) == [{"symbol": "SPY", "quality_pct": 90.0, "gaps": 1}]
    rows = threads_view(s, now_monotonic=52.5)
    assert rows[0]["last_loop_age_seconds"] == 2.5 and rows[1]["last_loop_age_seconds"] is None
    assert rows[1]["session_date"] == "2011-01-04"


def test_metrics_add_this_run_to_earlier_totals() -> None:
    v = metrics_view(_snapshot(_pipeline()))
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
    assert metrics_view(_snapshot(None, session_risk=RiskConfig(daily_loss_limit=250.0))).daily_loss_limit == 250.0
    lifted = RiskConfig.model_validate({"daily_loss_limit": None})  # the session lifts the daemon's limit
    assert metrics_view(_snapshot(None, session_risk=lifted)).daily_loss_limit == 0.0


def test_outside_a_day_run_every_list_is_empty() -> None:
    s = _snapshot(None)
    assert orders_view(s) == trades_view(s) == positions_view(s) == quality_view(s) == threads_view(s) == []
    assert metrics_view(s).orders_submitted == {"buy": 3, "sell": 3}


STRANGER = Mismatch(MismatchKind.UNKNOWN_ORDER, "SPY", "x-1", 0, 10, "buy 10 working at the broker, not placed by "
                    "this session")
SHORT = Mismatch(MismatchKind.POSITION, "SPY", None, 4, 5, "the broker holds 5 shares, the strategies 4")
RECONCILED = ReconciliationStatus(ReconcilePolicy.HALT, 3, OPEN + timedelta(minutes=10),
                                  (("unknown_order", 1), ("missing_order", 0), ("position", 1)), (STRANGER, SHORT),
                                  "unknown_order SPY: buy 10 working at the broker, not placed by this session")


def _reconciling(status: ReconciliationStatus | None, **kwargs: object) -> DaemonSnapshot:
    trading = replace(_trading(), reconciliation=status)
    return _snapshot(PipelineSnapshot(trading, QualitySnapshot(), ()), **kwargs)  # type: ignore[arg-type]


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
    for s in (_snapshot(None, reconciliation_before={"position": 3}),
              _reconciling(None, reconciliation_before={"position": 3})):  # a paper account is not reconciled
        record = status_view(s)["reconciliation"]
        assert record == {"policy": "halt", "checks": 0, "last_check": None,
                          "counts": {"unknown_order": 0, "missing_order": 0, "position": 3},
                          "day_run_counts": {"unknown_order": 0, "missing_order": 0, "position": 0},
                          "open": [], "halted": None}
        v = metrics_view(s)
        assert v.reconciliation_mismatches == record["counts"]
        assert v.reconciliation_open == 0 and not v.reconciliation_halted
    assert "RECONCILE" not in status_line(_snapshot(None))


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
    running = replace(_snapshot(_pipeline()), paper_account=PAPER)
    assert status_view(running)["account"] == {"cash": 10_000.0, "equity": 10_513.0, "positions_value": 513.0}
    idle = replace(_snapshot(None, day_run=False), paper_account=PAPER)
    assert account_record(idle) == {"cash": 98_727.7, "equity": 98_727.7 + 1_272.3, "positions_value": 1_272.3}
    assert positions_view(idle) == [{"symbol": "SPY", "quantity": 10, "avg_price": "127.23", "strategies": ""}]
    assert account_record(_snapshot(None, day_run=False)) is None, "a real account is not asked between sessions"
