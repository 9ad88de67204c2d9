"""The risk limits inside the real four-thread backtest on the bundled SPY data, watched at every
step from outside the ExecutionManager: working orders never above `max_open_orders`, and a
strategy that reorders from `on_order_refused` neither loops nor escapes the limits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mismarterad.config.session_config import SessionConfig
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SimClock
from mismarterad.core.orders import OrderStatus
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.runs.app import App
from mismarterad.runs.backtest_runner import run_backtest
from support.step_watch import at_every_step

STUBBORN = '''
from mismarterad.strategies import Strategy

class Stubborn(Strategy):
    """Buys on every bar and, told of a refusal, at once asks again (twice the size)."""

    def on_bar(self, symbol, interval, bar):
        self.buy(symbol, 10, limit=round(bar.close * 0.99, 2))
        self.buy(symbol, 10)

    def on_order_refused(self, order, reason):
        self.buy(order.request.symbol, 2 * order.request.quantity)
'''


def _config(tmp_path: Path, risk: dict[str, Any]) -> SessionConfig:
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    return SessionConfig.model_validate({
        "session_name": "stubborn", "exchange_group": "US_EQUITY", "asset_class": "EQUITY", "mode": "backtest",
        "backtest_config": {"start_date": "2011-01-03", "end_date": "2011-01-05", "initial_cash": 1_000_000},
        "session_data_config": {"symbols": ["SPY"], "streams": ["bars_1m"]},
        "strategies": [{"file": "stubborn.py", "class": "Stubborn", "symbols": ["SPY"]}],
        "risk": risk, "flatten_minutes_before_close": 5,
    })


def test_working_orders_stay_within_the_cap_and_refusals_do_not_loop(data_dir: Path, tmp_path: Path) -> None:
    app = App(settings=Settings(data_dir=data_dir, state_dir=tmp_path / "state"),
              clock=SimClock(datetime(1970, 1, 1, tzinfo=UTC)))
    risk = {"max_open_orders": 3, "max_shares_per_symbol": 100}
    seen = [0]

    def count(execution: ExecutionManager, _step_end: datetime) -> None:
        seen[0] = max(seen[0], len(execution.open_orders()))

    with at_every_step(count):
        outcome = run_backtest(app, _config(tmp_path, risk), tmp_path)
    result = outcome.result
    assert seen[0] == 3  # the cap is reached, never passed
    refused = [o for o in result.orders if o.status is OrderStatus.REFUSED]
    assert {o.reason for o in refused} >= {"max_open_orders", "flatten_minutes_before_close"}
    # each bar: two orders from on_bar, at most one reorder per refusal told after it (no loop)
    assert len(result.orders) <= 3 * 3 * 390 * 3
    assert len(result.refusals) == len(refused)
    position = 0
    for fill in result.fills:
        position += fill.side.sign * fill.quantity
        assert 0 <= position <= 100
    assert position == 0
