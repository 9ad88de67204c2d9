"""A runaway strategy (five market buys and one far-away limit buy on every bar) against the risk
limits, through the real `mismarterad backtest` command; every limit is checked from the
report files alone, as an auditor would, not from the code that enforced it."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "session_configs" / "spy_2011_backtest.json"
SAMPLE = REPO / "mismarterad" / "sample_data"

RUNAWAY = '''
from pathlib import Path
from pydantic import BaseModel
from mismarterad.strategies import Strategy

class Runaway(Strategy):
    class Params(BaseModel, extra="forbid"):
        told: str

    def on_session_start(self):
        self.refusals = getattr(self, "refusals", [])

    def on_bar(self, symbol, interval, bar):
        for _ in range(5):
            self.buy(symbol, 10)
        self.buy(symbol, 10, limit=round(bar.close * 0.5, 2))

    def on_order_refused(self, order, reason):
        self.refusals.append(f"{order.client_order_id} {reason}")

    def on_session_end(self):
        Path(self.params.told).write_text("\\n".join(self.refusals) + "\\n")
'''

FLATTEN_MINUTES, NO_ENTRY_MINUTES = 10, 30
LIMITS: dict[str, Any] = {"max_shares_per_symbol": 200, "max_orders_per_minute": 3, "max_open_orders": 4,
                          "daily_loss_limit": 150.0, "no_entry_minutes_before_close": NO_ENTRY_MINUTES}


@pytest.fixture
def spy_january(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("data", "import", str(SAMPLE / "spy_1min_2011-01_ext_ninjatrader.csv"), "--symbol", "SPY")
    assert result.returncode == 0, result.stderr


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _run(mismarterad, tmp_path: Path, risk: dict[str, Any]) -> Path:  # type: ignore[no-untyped-def]
    (tmp_path / "runaway.py").write_text(RUNAWAY)
    config = json.loads(CONFIG.read_text())
    config["strategies"] = [{"file": "runaway.py", "class": "Runaway", "symbols": ["SPY"],
                             "params": {"told": str(tmp_path / "told.txt")}}]
    config["risk"] = risk
    config["flatten_minutes_before_close"] = FLATTEN_MINUTES
    path = tmp_path / "runaway.json"
    path.write_text(json.dumps(config))
    out = tmp_path / "report"
    result = mismarterad("backtest", str(path), "--from", "2011-01-03", "--to", "2011-01-14", "--out", str(out),
                         timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _audit(out: Path, risk: dict[str, Any]) -> Counter[str]:
    """Every limit, from orders.csv, equity.csv, risk.csv and summary.json; the checks refused."""
    orders = _rows(out / "orders.csv")
    sent = [o for o in orders if o["status"] != "refused"]
    fills = sorted((o for o in orders if o["status"] == "filled"), key=lambda o: (o["filled_time"], o["client_order_id"]))
    # orders per minute: every sent order is stamped with the minute it was sent in
    per_minute = Counter(o["submitted_time"] for o in sent)
    assert max(per_minute.values()) <= risk["max_orders_per_minute"]
    # position never above the cap, flat at every close, exits and entries inside their windows
    position, days = 0, {}
    for f in fills:
        position += int(f["filled_quantity"]) * (1 if f["side"] == "buy" else -1)
        assert 0 <= position <= risk["max_shares_per_symbol"], f
        day = f["filled_time"][:10]
        days[day] = position
        close = _t(f"{day}T16:00:00-05:00")
        if f["side"] == "sell":
            assert _t(f["filled_time"]) <= close - timedelta(minutes=FLATTEN_MINUTES), f
        else:
            assert _t(f["filled_time"]) < close - timedelta(minutes=NO_ENTRY_MINUTES), f
    assert set(days.values()) == {0}
    for o in sent:
        if o["side"] == "buy":
            close = _t(f"{o['submitted_time'][:10]}T16:00:00-05:00")
            assert _t(o["submitted_time"]) < close - timedelta(minutes=NO_ENTRY_MINUTES), o
    # no buy filled once the day's loss passed the limit (the day's start: the last equity before it)
    equity = _rows(out / "equity.csv")
    start, today, last, breached = 1_000_000.0, "", 1_000_000.0, {}
    for row in equity:
        day = row["timestamp"][:10]
        if day != today:
            today, start = day, last
        if day not in breached and start - float(row["equity"]) > risk["daily_loss_limit"]:
            breached[day] = row["timestamp"]
        last = float(row["equity"])
    assert breached, "the limit was never passed: the test proves nothing"
    for f in fills:
        day = f["filled_time"][:10]
        if f["side"] == "buy" and day in breached:
            assert _t(f["filled_time"]) < _t(breached[day]), f
    summary = json.loads((out / "summary.json").read_text())
    assert [h["date"] for h in summary["risk"]["loss_halts"]] == sorted(breached)
    # the refusals: one risk.csv row each, counted in summary.json, each told to the strategy
    refusals = _rows(out / "risk.csv")
    counts = Counter(r["check"] for r in refusals)
    assert {k: v for k, v in summary["risk"]["refusals"].items() if v} == dict(counts)
    assert sum(1 for o in orders if o["status"] == "refused") == len(refusals)
    assert all(o["reason"] in counts for o in orders if o["status"] == "refused")
    told = (out.parent / "told.txt").read_text().split()  # what on_order_refused heard, run-long
    assert Counter(told[1::2]) == counts
    return counts


@pytest.mark.slow
def test_a_runaway_strategy_is_held_by_every_limit(mismarterad, spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    risk = {**LIMITS, "price_collar_pct": 5.0}
    counts = _audit(_run(mismarterad, tmp_path, risk), risk)
    for check in ("max_shares_per_symbol", "max_orders_per_minute", "price_collar_pct", "daily_loss_limit",
                  "no_entry_minutes_before_close", "flatten_minutes_before_close"):
        assert counts[check] > 0, (check, counts)


@pytest.mark.slow
def test_without_a_collar_the_far_limits_rest_and_the_open_order_cap_holds(mismarterad, spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    risk = {**LIMITS, "max_orders_per_minute": 6}  # all six may go: the resting limits fill the book
    counts = _audit(_run(mismarterad, tmp_path, risk), risk)
    assert counts["max_open_orders"] > 0 and counts["price_collar_pct"] == 0
