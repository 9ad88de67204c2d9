"""Record a real daemon's replies to every mismarterctl command, for the 80-column render tests.

    cd tests && ../.venv/bin/python -m support.ctl_replies unit/ctl/daemon_replies.json

replays 2023-05-25 of the bundled AAPL, GOOGL and TSLA minutes with the tech session (opening
range breakouts with stops on three symbols) plus an SMA cross on TSLA, with commissions, and
saves the JSON results mid-session (positions open, orders working), after the close (the
session flat, its stop an hour later) and after the day's report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from support.daemon_process import REPO, DaemonProcess, base_env, executable, make_daemon

__all__ = ["record"]

DAY = "2023-05-25"
MIDDAY = ["status", "threads", "session", "positions", "orders", "trades", "quality", "pnl", "config", "time",
          "calendar", "schedule"]
CLOSE = ["orders", "trades", "pnl"]
EVENING = ["status", "pnl", f"report {DAY}"]


def session_config(root: Path) -> Path:
    config = json.loads((REPO / "session_configs" / "tech_2023_live.json").read_text())
    config["strategies"].append({"name": "sma_cross", "symbols": ["TSLA"],
                                 "params": {"fast": 5, "slow": 20, "quantity": 30, "interval": "1m"}})
    config["backtest_config"] = {"start_date": DAY, "end_date": DAY, "initial_cash": 100000,
                                 "commission_per_share": 0.005, "commission_minimum": 1.0}
    path = root / "session.json"
    path.write_text(json.dumps(config))
    return path


def replies(d: DaemonProcess, commands: list[str]) -> dict[str, Any]:
    out = {}
    for line in commands:
        cmd, *words = line.split()
        reply = d.request(cmd, words)
        assert reply["ok"], reply
        out[line] = reply["result"]
    return out


def record(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = base_env(root / "state", root / "data")
        subprocess.run([executable("mismarterad"), "data", "sample"], env=env, check=True, capture_output=True,
                       timeout=600)
        d = make_daemon(root / "d", root / "data", session_config=session_config(root),
                        start=f"{DAY}T09:25:00-04:00", speed=600, lag_minutes=60)
        d.start()
        try:
            d.wait_ready()
            d.wait_for(lambda s: s["clock"] >= f"{DAY}T10:30", 120, "the morning's trades")
            while not d.request("positions")["result"]:  # a moment with shares held
                time.sleep(0.02)
            midday = replies(d, MIDDAY)
            d.wait_for(lambda s: s["clock"] >= f"{DAY}T16:02", 300, "the close")
            close = replies(d, CLOSE)
            d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 300, "the report")
            evening = replies(d, EVENING)
        finally:
            d.proc.kill()  # type: ignore[union-attr]
            d.proc.wait(10)  # type: ignore[union-attr]
            d.notify.close()
    text = json.dumps({"midday": midday, "close": close, "evening": evening}, indent=1)
    out.write_text(text.replace(tmp, "/var/lib/mismarterad") + "\n")


if __name__ == "__main__":
    record(Path(sys.argv[1]))
