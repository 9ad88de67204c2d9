"""A small real report folder (the files a session writes) and its bars, for the assistant's tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

DAY = "2011-01-04"
OPEN = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)

FILES = {
    "trades.csv": "symbol,entry_time,entry_price,exit_time,exit_price,quantity,pnl,strategy\n"
                  "SPY,2011-01-04T10:05:00-05:00,127.1,2011-01-04T11:30:00-05:00,126.9,100,-20,sma_cross#0\n"
                  "QQQ,2011-01-04T10:40:00-05:00,55.2,2011-01-04T15:50:00-05:00,55.6,50,20,sma_cross#0\n",
    "orders.csv": "client_order_id,symbol,side,quantity,type,limit_price,stop_price,status,submitted_time,"
                  "filled_time,filled_quantity,avg_fill_price,strategy,reason\n"
                  "o1,SPY,buy,100,market,,,filled,2011-01-04T10:05:00-05:00,2011-01-04T10:05:00-05:00,100,127.1,"
                  "sma_cross#0,\n"
                  "o2,SPY,sell,100,market,,,filled,2011-01-04T11:30:00-05:00,2011-01-04T11:30:00-05:00,100,126.9,"
                  "sma_cross#0,\n"
                  "o3,QQQ,buy,50,market,,,filled,2011-01-04T10:40:00-05:00,2011-01-04T10:40:00-05:00,50,55.2,"
                  "sma_cross#0,\n"
                  "o4,QQQ,sell,50,market,,,filled,2011-01-04T15:50:00-05:00,2011-01-04T15:50:00-05:00,50,55.6,"
                  "sma_cross#0,\n"
                  "o5,SPY,buy,900,market,,,refused,2011-01-04T12:00:00-05:00,,0,,sma_cross#0,max_position\n",
    "risk.csv": "time,strategy,symbol,side,quantity,check,limit,value\n"
                "2011-01-04T12:00:00-05:00,sma_cross#0,SPY,buy,900,max_position,500,900\n",
    "validation.csv": "date,symbol,status,expected_1m,quality_pct,missing_1m,gaps,bars_1m\n"
                      "2011-01-04,QQQ,ok,390,100,0,,390\n2011-01-04,SPY,ok,390,99.4872,2,12:01-12:02,388\n",
    "summary.json": json.dumps({"session_name": "demo", "mode": "live", "first_day": DAY, "last_day": DAY,
                                "initial_equity": 100000.0, "final_equity": 100000.0, "total_return": 0.0,
                                "trades": 2, "orders": 5, "fills": 4,
                                "strategies": {"sma_cross#0": {"pnl": 0.0, "trades": 2}},
                                "risk": {"refusals": {"max_position": 1}, "loss_halts": []}}),
    "run.json": json.dumps({"run_id": 3, "day": DAY, "status": "completed", "error": None, "resumed_orders": 0}),
}


@pytest.fixture
def report(tmp_path: Path) -> Path:
    folder = tmp_path / "state" / "reports" / DAY
    folder.mkdir(parents=True)
    for name, content in FILES.items():
        (folder / name).write_text(content)
    return folder


@pytest.fixture
def bar_store(tmp_path: Path) -> ParquetBarStore:
    store = ParquetBarStore(tmp_path / "data")
    store.write_bars("SPY", "1m", [Bar("SPY", "1m", OPEN + timedelta(minutes=i), 127 + i / 100, 127.2 + i / 100,
                                       126.9 + i / 100, 127.1 + i / 100, 1000 + i) for i in range(30)])
    return store
