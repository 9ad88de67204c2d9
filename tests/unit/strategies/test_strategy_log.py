"""`self.log`: structured events tagged with the strategy, the market time when there is one,
and whatever the strategy binds or passes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from structlog.testing import capture_logs

from mismarterad.strategies import StrategyLog


def test_events_carry_strategy_market_time_and_fields() -> None:
    now: list[datetime | None] = [None]
    log = StrategyLog.of("RsiReversion#0", lambda: now[0])
    with capture_logs() as logs:
        log.info("started", cash=1000.0)
        now[0] = datetime(2011, 1, 4, 10, 1, tzinfo=ZoneInfo("America/New_York"))
        log.bind(symbol="SPY").warning("order_refused", reason="max_open_orders")
        log.error("odd", market_time="mine")
    assert logs == [
        {"event": "started", "log_level": "info", "component": "strategy", "strategy": "RsiReversion#0",
         "cash": 1000.0},
        {"event": "order_refused", "log_level": "warning", "component": "strategy", "strategy": "RsiReversion#0",
         "symbol": "SPY", "reason": "max_open_orders", "market_time": "2011-01-04T10:01:00-05:00"},
        {"event": "odd", "log_level": "error", "component": "strategy", "strategy": "RsiReversion#0",
         "market_time": "mine"},
    ]
