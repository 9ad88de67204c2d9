"""ExecutionManager keeps, for every point of the equity curve, the price it marked each symbol at
(the report's per-symbol figures and buy and hold are computed from them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mismarterad.core.market_data import Bar
from mismarterad.integrations.paper import PaperBroker
from mismarterad.managers.execution_manager import ExecutionManager

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)


def bar(symbol: str, minute: int, close: float) -> Bar:
    return Bar(symbol, "1m", T0 + timedelta(minutes=minute), close, close, close, close, 100)


def test_each_mark_keeps_the_prices_it_used_and_a_second_mark_of_a_step_replaces_them() -> None:
    execution = ExecutionManager(PaperBroker(initial_cash=1000.0))
    end = [T0 + timedelta(minutes=m + 1) for m in range(3)]
    execution.on_bar(bar("SPY", 0, 10.0))
    execution.mark(end[0])
    execution.on_bar(bar("SPY", 1, 11.0))
    execution.on_bar(bar("QQQ", 1, 50.0))  # first seen at the second step
    execution.mark(end[1])
    execution.on_bar(bar("SPY", 2, 12.0))
    execution.mark(end[2])
    execution.on_bar(bar("SPY", 2, 12.5))  # the same step marked again (the session's end)
    execution.mark(end[2])
    assert [p.ts_utc for p in execution.record.equity] == end
    assert execution.record.closes == {"SPY": [10.0, 11.0, 12.5], "QQQ": [None, 50.0, 50.0]}
