"""The risk limits in the real daemon: a replayed day of a runaway strategy, with part of the
limits in the session config and the daily loss limit in the daemon's `[risk]` table, refuses
exactly what the backtest with the same limits refuses, and trades exactly as it does."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from support.daemon_process import DAEMON_SESSION_CONFIG, DAY, DaemonProcess, base_env, executable, launch

RUNAWAY = '''
from mismarterad.strategies import Strategy

class Runaway(Strategy):
    def on_bar(self, symbol, interval, bar):
        for _ in range(5):
            self.buy(symbol, 10)
        self.buy(symbol, 10, limit=round(bar.close * 0.5, 2))
'''
SESSION_RISK = {"max_shares_per_symbol": 200, "max_orders_per_minute": 3, "price_collar_pct": 5.0,
                "no_entry_minutes_before_close": 30}
DAEMON_RISK = {"daily_loss_limit": 150.0, "max_open_orders": 4}


def _session(tmp_path: Path, name: str, risk: dict[str, object]) -> Path:
    (tmp_path / "runaway.py").write_text(RUNAWAY)
    config = json.loads(DAEMON_SESSION_CONFIG.read_text())
    config["strategies"] = [{"file": str(tmp_path / "runaway.py"), "class": "Runaway"}]
    config["risk"] = risk
    config["flatten_minutes_before_close"] = 10
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return path


@pytest.mark.slow
def test_a_replayed_day_refuses_and_trades_like_the_backtest_with_the_same_limits(
        data_dir: Path, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    backtest_config = _session(tmp_path, "bt.json", {**SESSION_RISK, **DAEMON_RISK})
    bt = tmp_path / "bt"
    subprocess.run([executable("mismarterad"), "backtest", str(backtest_config), "--from", DAY, "--to", DAY,
                    "--out", str(bt / "out")], env=base_env(bt / "state", data_dir), check=True,
                   capture_output=True, timeout=180)
    summary = json.loads((bt / "out" / "summary.json").read_text())
    assert summary["risk"]["loss_halts"], "the day must pass the loss limit, or the test proves little"

    d = launch(daemons, tmp_path / "d", data_dir, session_config=_session(tmp_path, "live.json", SESSION_RISK),
               start=f"{DAY}T09:25:00-05:00", risk=DAEMON_RISK)
    d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 120, "the session to stop")
    report = d.root / "state" / "reports" / DAY
    for name in ("trades.csv", "orders.csv", "risk.csv"):
        assert (report / name).read_text() == (bt / "out" / name).read_text(), name
    assert json.loads((report / "summary.json").read_text())["risk"] == summary["risk"]
    metrics = d.metrics()
    refused = summary["risk"]["refusals"]
    for check, count in refused.items():
        assert re.search(rf'mismarterad_risk_refusals_total\{{check="{check}"\}} {count}\.0', metrics), check
    assert "mismarterad_daily_loss_halts_total 1.0" in metrics
    assert "mismarterad_daily_loss_limit_dollars 150.0" in metrics
