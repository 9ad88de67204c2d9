"""The whole backtest pipeline against backtrader on the same synthetic 1-minute bars.

Run: .venv/bin/pip install backtrader && .venv/bin/python bench/bench_backtest.py [--symbols 1 10]

For each data set (N symbols x 252 trading days of regular-session 1m bars, a seeded random
walk in cents) it measures, in one run:
* `mismarterad backtest` as a whole process (start-up, database, calendar, the four threads
  with a derived 5m interval, RSI and EMA indicators, quality, sma_cross 10/30, paper broker,
  reports): wall time, in-process bars/s from run.json, peak RSS, trades;
* a backtrader process running the same sma_cross rules on the same bars (SMA 10/30 on 1m
  closes, market orders at the next open, no signal on a session's last bar, flat at the
  close): wall time, in-process bars/s of cerebro.run(), peak RSS, trades.
The bars go into the store before timing starts; reading them is part of the timed run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import exchange_calendars
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

HERE = Path(__file__).resolve().parent
FIRST_DAY = date(2019, 1, 2)
DAYS = 252

BACKTRADER_SCRIPT = r'''
import sys, time, resource
import backtrader as bt
import exchange_calendars
import pandas as pd

class SmaCross(bt.Strategy):
    def __init__(self):
        self.trades = 0
        self.pending = {}
        self.cross = {}
        for d in self.datas:
            fast, slow = bt.ind.SMA(d.close, period=10), bt.ind.SMA(d.close, period=30)
            self.cross[d] = fast - slow

    def notify_trade(self, trade):
        if trade.isclosed:
            self.trades += 1

    def next(self):
        for d in self.datas:
            if len(d) < 31:
                continue
            t = d.datetime.time(0)
            pos = self.getposition(d).size
            if t.hour == 15 and t.minute == 58:  # flatten: fills at the last bar's open
                if pos:
                    self.close(d)
                continue
            if t.hour == 15 and t.minute == 59:
                continue
            now, before = self.cross[d][0], self.cross[d][-1]
            if now > 0 and before <= 0 and pos == 0:
                self.buy(d, size=100)
            elif now < 0 and before >= 0 and pos > 0:
                self.sell(d, size=pos)

started = time.perf_counter()
cerebro = bt.Cerebro(stdstats=False)
cerebro.broker.setcash(1_000_000)
frame = pd.read_parquet(sys.argv[1])
for symbol, bars in frame.groupby("symbol", sort=True):
    bars = bars.set_index("datetime")[["open", "high", "low", "close", "volume"]]
    cerebro.adddata(bt.feeds.PandasData(dataname=bars, timeframe=bt.TimeFrame.Minutes), name=symbol)
cerebro.addstrategy(SmaCross)
t0 = time.perf_counter()
strategy = cerebro.run()[0]
run_secs = time.perf_counter() - t0
print(f"{len(frame)} {run_secs} {strategy.trades} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
'''


def trading_days(count: int = DAYS) -> list[tuple[date, datetime, int]]:
    """(day, regular open in UTC, minutes in the regular session) of the first `count` XNYS sessions."""
    calendar = exchange_calendars.get_calendar("XNYS")
    schedule = calendar.schedule.loc[FIRST_DAY.isoformat():].iloc[:count]
    return [(day.date(), row.open.to_pydatetime(), int((row.close - row.open).total_seconds() // 60))
            for day, row in schedule.iterrows()]


def synthetic_bars(symbol: str, seed: int, days: list[tuple[date, datetime, int]]) -> list[Bar]:
    rng, cents, out = random.Random(seed), 10_000 + 1_000 * seed, []
    for _, open_utc, minutes in days:
        for i in range(minutes):
            o = cents
            c = max(100, o + rng.randint(-8, 8))
            hi, lo = max(o, c) + rng.randint(0, 3), min(o, c) - rng.randint(0, 3)
            out.append(Bar(symbol, "1m", open_utc + timedelta(minutes=i), o / 100, hi / 100, lo / 100, c / 100,
                           rng.randint(100, 10_000)))
            cents = c
    return out


def run_mismarterad(root: Path, symbols: list[str], days: list[tuple[date, datetime, int]]) -> dict[str, float]:
    config = {
        "session_name": f"bench {len(symbols)} symbols",
        "exchange_group": "US_EQUITY",
        "asset_class": "EQUITY",
        "mode": "backtest",
        "backtest_config": {"start_date": days[0][0].isoformat(), "end_date": days[-1][0].isoformat(),
                            "speed_multiplier": 0, "prefetch_days": 2},
        "session_data_config": {
            "symbols": symbols,
            "streams": ["bars_1m"],
            "historical": {"data": [{"apply_to": "all", "intervals": ["1m", "5m"], "trailing_days": 1}]},
        },
        "strategies": [{"file": str(HERE / "sma_cross_with_indicators.py"), "class": "SmaCrossWithIndicators",
                        "symbols": "all", "params": {"fast": 10, "slow": 30, "quantity": 100}}],
    }
    path = root / "bench_config.json"
    path.write_text(json.dumps(config))
    env = {**os.environ, "MISMARTERAD_DATA_DIR": str(root / "data"), "MISMARTERAD_STATE_DIR": str(root / "state"),
           "MISMARTERAD_LOG_LEVEL": "warning"}
    exe = Path(sys.executable).with_name("mismarterad")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), "backtest", str(path), "--out", str(root / "report")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, _, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, None) or not (root / "report" / "run.json").exists():
        raise SystemExit(f"mismarterad backtest failed:\n{err}")
    run = json.loads((root / "report" / "run.json").read_text())
    trades = len((root / "report" / "trades.csv").read_text().splitlines()) - 1
    return {"wall_secs": wall, "bars": run["bars_processed"], "bars_per_sec": run["bars_per_sec"],
            "peak_rss_mb": rusage.ru_maxrss / 1024, "trades": trades}


def run_backtrader(root: Path, bars: list[Bar]) -> dict[str, float]:
    frame = pd.DataFrame({
        "symbol": [b.symbol for b in bars],
        "datetime": [b.start_utc.replace(tzinfo=None) - timedelta(hours=5) for b in bars],  # naive EST-ish
        "open": [b.open for b in bars], "high": [b.high for b in bars], "low": [b.low for b in bars],
        "close": [b.close for b in bars], "volume": [b.volume for b in bars],
    })
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), root / "bt.parquet")
    script = root / "bt_run.py"
    script.write_text(BACKTRADER_SCRIPT)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), str(root / "bt.parquet")], capture_output=True, text=True,
                          check=True)
    wall = time.perf_counter() - t0
    n, run_secs, trades, rss_kb = proc.stdout.split()
    return {"wall_secs": wall, "bars": int(n), "bars_per_sec": int(n) / float(run_secs),
            "peak_rss_mb": int(rss_kb) / 1024, "trades": int(trades)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--days", type=int, default=DAYS, help="trading days per data set (memory check)")
    parser.add_argument("--skip-backtrader", action="store_true", help="time mismarterad only")
    args = parser.parse_args()
    days = trading_days(args.days)
    for count in args.symbols:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            symbols = [f"SYN{i:02d}" for i in range(count)]
            store = ParquetBarStore(root / "data")
            everything: list[Bar] = []
            for seed, symbol in enumerate(symbols):
                bars = synthetic_bars(symbol, seed, days)
                store.write_bars(symbol, "1m", bars)
                everything.extend(bars)
            ours = run_mismarterad(root, symbols, days)
            results = [("mismarterad", ours)]
            if not args.skip_backtrader:
                results.append(("backtrader", run_backtrader(root, everything)))
            print(f"\n{count} symbol(s) x {len(days)} days = {len(everything):,} bars")
            print(f"{'':14}{'process s':>10}{'bars/s':>12}{'peak RSS MB':>13}{'trades':>8}")
            for name, r in results:
                print(f"{name:14}{r['wall_secs']:>10.2f}{r['bars_per_sec']:>12,.0f}{r['peak_rss_mb']:>13.0f}"
                      f"{r['trades']:>8}")
            if len(results) == 2:
                theirs = results[1][1]
                print(f"ratios: process {theirs['wall_secs'] / ours['wall_secs']:.1f}x faster, "
                      f"in-process bars/s {ours['bars_per_sec'] / theirs['bars_per_sec']:.1f}x")


if __name__ == "__main__":
    main()
