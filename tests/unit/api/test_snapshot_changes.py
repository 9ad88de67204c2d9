"""The console's events and P&L are pure functions of DaemonSnapshots: the first look takes note,
later looks announce state changes, halts set and lifted, and each new fill once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mismarterad.api.snapshot_changes import changes
from mismarterad.config.daemon_config import DaemonConfig
from mismarterad.config.session_config import load_session_config
from mismarterad.core.enums import SystemState
from mismarterad.core.halt import HaltState
from mismarterad.core.orders import AccountSnapshot, Fill, Position, Side
from mismarterad.core.market_data import Bar
from mismarterad.core.read_model import PipelineSnapshot, QualitySnapshot, StrategyPosition, TradingSnapshot
from mismarterad.daemon.control import DaemonSnapshot, DayRunSnapshot
from mismarterad.daemon.views import pnl_view

REPO = Path(__file__).resolve().parents[3]
OPEN = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)
BUY = Fill("o1", "SPY", Side.BUY, 10, 127.0, 1.0, OPEN + timedelta(minutes=1), "a#0", "e1")
SELL = Fill("o2", "SPY", Side.SELL, 10, 127.5, 1.0, OPEN + timedelta(minutes=5), "a#0", "e2")
AGAIN = Fill("o3", "SPY", Side.BUY, 5, 127.2, 0.5, OPEN + timedelta(minutes=7), "b#1", "e3")


def look(fills: tuple[Fill, ...] = (), *, state: SystemState = SystemState.RUNNING, halted: HaltState | None = None,
         day: date | None = date(2011, 1, 4)) -> DaemonSnapshot:
    config = load_session_config(REPO / "session_configs" / "spy_2011_backtest.json")
    held = (StrategyPosition("b#1", "SPY", 5),) if AGAIN in fills else ()
    trading = TradingSnapshot(fills=fills, account=AccountSnapshot(9_360.0, 10_001.0, 641.0),
                              broker_positions=(Position("SPY", 5, 127.2),), strategy_positions=held,
                              last_bars=(Bar("SPY", "1m", OPEN + timedelta(minutes=7), 128.0, 128.3, 128.0, 128.2, 900),))
    pipeline = PipelineSnapshot(trading, QualitySnapshot(), ())
    run = DayRunSnapshot(day, 1, 0.0, OPEN, OPEN + timedelta(hours=6, minutes=30), False, config, pipeline) \
        if day is not None else None
    return DaemonSnapshot(
        state=state, error=None, clock_utc=OPEN + timedelta(minutes=8), clock_kind="ReplayClock",
        timezone=ZoneInfo("America/New_York"), session_active=day is not None, planned=None, day_run=run,
        halted=halted, session_failures=0, session_restarts=0, watchdog_healthy=True, uptime_secs=1.0,
        metrics_port=9108, last_report=None, config_path=Path("/etc/daemon.toml"),
        daemon_config=DaemonConfig(session_config=Path("/etc/session.json")), session_config=config)


def test_the_first_look_announces_nothing_then_each_change_once() -> None:
    seen, events = changes(None, look((BUY,)))
    assert events == []
    seen, events = changes(seen, look((BUY, SELL)))
    assert events == [("fill", {"time": "2011-01-04T09:35:00-05:00", "symbol": "SPY", "side": "sell",
                                "quantity": 10, "price": 127.5, "strategy": "a#0", "client_order_id": "o2"})]
    halt = HaltState(OPEN + timedelta(minutes=6), "alice (api, 127.0.0.1)", "news", False)
    seen, events = changes(seen, look((BUY, SELL), halted=halt))
    assert [kind for kind, _ in events] == ["halt"]
    assert events[0][1]["halted"] is True and events[0][1]["operator"]["by"] == "alice (api, 127.0.0.1)"
    seen, events = changes(seen, look((BUY, SELL), halted=halt))
    assert events == []
    seen, events = changes(seen, look((BUY, SELL, AGAIN), state=SystemState.STOPPING))
    assert [kind for kind, _ in events] == ["state", "halt", "fill"]
    assert events[0][1]["state"] == "STOPPING" and events[1][1]["halted"] is False
    _, events = changes(seen, look((BUY,), day=date(2011, 1, 5)))
    assert [kind for kind, _ in events] == ["state", "fill"], "a new day's fills are new"


def test_pnl_gives_the_chart_its_account_and_the_total_of_round_trips_and_open_lots() -> None:
    view = pnl_view(look((BUY, SELL, AGAIN)))
    total = view["strategies"][-1]
    assert total["strategy"] == "total" and total["fees"] == 2.5  # the console's chart reads the last row
    assert (total["realized"], total["unrealized"], total["total"]) == (3.0, 4.5, 7.5)  # net of commissions
    assert view["equity"] == 10_001.0 and view["cash"] == 9_360.0 and view["timezone"] == "America/New_York"
    assert view["date"] == "2011-01-04" and view["clock"] == "2011-01-04T09:38:00-05:00"
    idle = pnl_view(replace(look(), day_run=None))
    assert idle["date"] is None and idle["equity"] is None and idle["strategies"] == []
