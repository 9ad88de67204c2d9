"""A daemon's frozen snapshot as the views see it: a day-run of two strategies on SPY with
orders, fills, a position, a halt and reconciliation differences, built without a daemon."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mismarterad.config.daemon_config import DaemonConfig
from mismarterad.config.risk_config import RiskConfig
from mismarterad.config.session_config import load_session_config
from mismarterad.core.enums import SystemState
from mismarterad.core.halt import HaltState
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
from mismarterad.core.risk import LossHalt
from mismarterad.daemon.control import DaemonSnapshot, DayRunSnapshot
from mismarterad.services.session_plan import SessionWindow

__all__ = ["HALT", "NOW", "NY", "OPEN", "RECONCILED", "SHORT", "STRANGER", "daemon_snapshot", "pipeline_snapshot",
           "trading_snapshot"]

REPO = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")
OPEN = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)
NOW = OPEN + timedelta(minutes=10, seconds=30)
HALT = HaltState(OPEN + timedelta(minutes=5), "uid 1000 (alice)", "broker outage", True)


def daemon_snapshot(pipeline: PipelineSnapshot | None, *, halted: HaltState | None = None, day_run: bool = True,
                    session_risk: RiskConfig | None = None,
                    reconciliation_before: dict[str, int] | None = None) -> DaemonSnapshot:
    config = load_session_config(REPO / "session_configs" / "spy_2011_backtest.json")
    if session_risk is not None:
        config = config.model_copy(update={"risk": session_risk})
    run = None if not day_run else DayRunSnapshot(date(2011, 1, 4), 7, 100.0, OPEN,
                                                  OPEN + timedelta(hours=6, minutes=30), False, config, pipeline)
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


def trading_snapshot() -> TradingSnapshot:
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


def pipeline_snapshot() -> PipelineSnapshot:
    threads = (ThreadSnapshot("SessionCoordinator", True, 50.0, 0, 9),
               ThreadSnapshot("AnalysisEngine", False, None, 2, 8, (("session_date", "2011-01-04"),)))
    return PipelineSnapshot(trading_snapshot(), QualitySnapshot((("SPY", 90.0),), (("SPY", 1),)), threads)


STRANGER = Mismatch(MismatchKind.UNKNOWN_ORDER, "SPY", "x-1", 0, 10, "buy 10 working at the broker, not placed by "
                    "this session")
SHORT = Mismatch(MismatchKind.POSITION, "SPY", None, 4, 5, "the broker holds 5 shares, the strategies 4")
RECONCILED = ReconciliationStatus(ReconcilePolicy.HALT, 3, OPEN + timedelta(minutes=10),
                                  (("unknown_order", 1), ("missing_order", 0), ("position", 1)), (STRANGER, SHORT),
                                  "unknown_order SPY: buy 10 working at the broker, not placed by this session")


