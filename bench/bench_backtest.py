"""The whole backtest process against backtrader and backtesting.py on the same synthetic 1m bars.

Run: .venv/bin/python bench/bench_backtest.py [--symbols 10] [--days 252] [--repeat 1]

It installs backtrader and backtesting.py into the running venv first (pip), then for each
data set (N symbols x D trading days of regular-session 1m bars, a seeded random walk in cents)
it measures in one run, each as a whole process with its start-up:
* `mismarterad backtest` with the built-in sma_cross 10/30 (sma_cross_with_indicators.py: the
  built-in class, plus RSI(14) on 1m and EMA(20) on a derived 5m interval it does not trade on),
  1m and 5m history, quality, paper broker, database, every report file;
* the same with a user-file strategy doing the same in Python `on_bar` with its own rolling
  sums (user_sma_cross.py), same indicators;
* backtrader running the same rules (SMA 10/30 on 1m closes, market orders at the next open, no
  signal on a session's last bar, flat at the close);
* backtesting.py running the same rules, one `Backtest` per symbol in one process (it trades one
  instrument at a time), its indicators precomputed as arrays.
The bars go into the store (and a Parquet file for the others) before timing starts; reading
them is part of every timed run. The state directory is set up first, as the first command of
an install does (`mismarterad calendar sync`: database schema, the calendar's years); that
one-time cost is printed too. Each ratio compares runs of the same invocation. Then the peak
RSS of the built-in run at `--memory-days` against the full range shows whether memory grows
with the length of the backtest.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
FIRST_DAY = date(2019, 1, 2)
DAYS = 252
NEW_YORK = ZoneInfo("America/New_York")
PINNED = ("backtrader==1.9.78.123", "backtesting==0.6.6")

BACKTRADER_SCRIPT = r'''
import sys, time, resource
import backtrader as bt
import pandas as pd

class SmaCross(bt.Strategy):
    def __init__(self):
        self.trades = 0
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

cerebro = bt.Cerebro(stdstats=False)
cerebro.broker.setcash(1_000_000)
frame = pd.read_parquet(sys.argv[1])
for symbol, bars in frame.groupby("symbol", sort=True):
    bars = bars.set_index("local")[["open", "high", "low", "close", "volume"]]
    cerebro.adddata(bt.feeds.PandasData(dataname=bars, timeframe=bt.TimeFrame.Minutes), name=symbol)
cerebro.addstrategy(SmaCross)
strategy = cerebro.run()[0]
print(f"{len(frame)} {strategy.trades}")
'''

BACKTESTING_SCRIPT = r'''
import sys, warnings
import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy

warnings.filterwarnings("ignore")

def sma(values, n):
    return pd.Series(values).rolling(n).mean().to_numpy()

class SmaCross(Strategy):
    def init(self):
        close = self.data.Close
        self.fast = self.I(sma, close, 10)
        self.slow = self.I(sma, close, 30)
        self.clock = self.I(lambda: self.data.Clock, name="clock", plot=False)

    def next(self):
        if len(self.data) < 31:
            return
        clock = self.clock[-1]
        if clock == 958:  # flatten: fills at the last bar's open
            if self.position:
                self.position.close()
            return
        if clock == 959:
            return
        now, before = self.fast[-1] - self.slow[-1], self.fast[-2] - self.slow[-2]
        if now > 0 and before <= 0 and not self.position:
            self.buy(size=100)
        elif now < 0 and before >= 0 and self.position.is_long:
            self.position.close()

frame = pd.read_parquet(sys.argv[1])
bars = trades = 0
for symbol, part in frame.groupby("symbol", sort=True):
    data = pd.DataFrame({"Open": part["open"].to_numpy(), "High": part["high"].to_numpy(),
                         "Low": part["low"].to_numpy(), "Close": part["close"].to_numpy(),
                         "Volume": part["volume"].to_numpy(),
                         "Clock": (part["local"].dt.hour * 60 + part["local"].dt.minute).to_numpy()},
                        index=pd.DatetimeIndex(part["local"].to_numpy()))
    stats = Backtest(data, SmaCross, cash=1_000_000, finalize_trades=True).run()
    bars += len(part)
    trades += int(stats["# Trades"])
print(f"{bars} {trades}")
'''


def install_competitors() -> None:
    """pip install the pinned backtrader and backtesting.py into this venv (a no-op once there)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *PINNED], check=True)


def trading_days(count: int) -> list[tuple[date, datetime, int]]:
    """(day, regular open in UTC, minutes in the regular session) of the first `count` XNYS sessions."""
    import exchange_calendars

    calendar = exchange_calendars.get_calendar("XNYS")
    schedule = calendar.schedule.loc[FIRST_DAY.isoformat():].iloc[:count]
    return [(day.date(), row.open.to_pydatetime(), int((row.close - row.open).total_seconds() // 60))
            for day, row in schedule.iterrows()]


def synthetic_columns(seed: int, days: list[tuple[date, datetime, int]]) -> dict[str, list]:
    rng, cents = random.Random(seed), 10_000 + 1_000 * seed
    out: dict[str, list] = {k: [] for k in ("start_utc", "open", "high", "low", "close", "volume")}
    for _, open_utc, minutes in days:
        for i in range(minutes):
            o = cents
            c = max(100, o + rng.randint(-8, 8))
            hi, lo = max(o, c) + rng.randint(0, 3), min(o, c) - rng.randint(0, 3)
            for key, value in (("start_utc", open_utc + timedelta(minutes=i)), ("open", o / 100), ("high", hi / 100),
                               ("low", lo / 100), ("close", c / 100), ("volume", rng.randint(100, 10_000))):
                out[key].append(value)
            cents = c
    return out


def prepare(root: Path, count: int, days: list[tuple[date, datetime, int]]) -> list[str]:
    """The store of mismarterad and one Parquet file of every bar (with its New York wall time)
    for the other two."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mismarterad.core.market_data import Bar
    from mismarterad.repositories.parquet_bar_store import ParquetBarStore

    store = ParquetBarStore(root / "data")
    frames = []
    symbols = [f"SYN{i:02d}" for i in range(count)]
    for seed, symbol in enumerate(symbols):
        cols = synthetic_columns(seed, days)
        store.write_bars(symbol, "1m", [Bar(symbol, "1m", *row) for row in zip(*cols.values(), strict=True)])
        frame = pd.DataFrame(cols)
        frame.insert(0, "symbol", symbol)
        frame["local"] = frame["start_utc"].map(lambda t: t.astimezone(NEW_YORK).replace(tzinfo=None))
        frames.append(frame.drop(columns="start_utc"))
    pq.write_table(pa.Table.from_pandas(pd.concat(frames), preserve_index=False), root / "bars.parquet")
    return symbols


def environment(root: Path) -> dict[str, str]:
    return {**os.environ, "MISMARTERAD_DATA_DIR": str(root / "data"), "MISMARTERAD_STATE_DIR": str(root / "state"),
            "MISMARTERAD_LOG_LEVEL": "warning"}


def set_up_state(root: Path, days: list[tuple[date, datetime, int]]) -> float:
    """What the first command of an install does once: the database and the calendar's years."""
    exe = Path(sys.executable).with_name("mismarterad")
    t0 = time.perf_counter()
    subprocess.run([str(exe), "calendar", "sync", "--exchange-group", "US_EQUITY", "--from",
                    days[0][0].replace(month=1, day=1).isoformat(), "--to",
                    days[-1][0].replace(month=12, day=31).isoformat()],
                   env=environment(root), check=True, capture_output=True)
    return time.perf_counter() - t0


def run_mismarterad(root: Path, symbols: list[str], days: list[tuple[date, datetime, int]], strategy: dict,
                    tag: str) -> dict[str, float]:
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
        "strategies": [{**strategy, "symbols": "all", "params": {"fast": 10, "slow": 30, "quantity": 100}}],
    }
    path = root / f"config_{tag}.json"
    path.write_text(json.dumps(config))
    out = root / f"report_{tag}"
    exe = Path(sys.executable).with_name("mismarterad")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), "backtest", str(path), "--out", str(out)], env=environment(root),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0 or not (out / "run.json").exists():
        raise SystemExit(f"mismarterad backtest failed:\n{err}")
    run = json.loads((out / "run.json").read_text())
    trades = (out / "trades.csv").read_text().splitlines()[1:]
    return {"wall_secs": wall, "bars": run["bars_processed"], "peak_rss_mb": rusage.ru_maxrss / 1024,
            "trades": len(trades), "trade_rows": [row.rsplit(",", 1)[0] for row in trades]}


def run_script(root: Path, name: str, script: str) -> dict[str, float]:
    path = root / f"{name}.py"
    path.write_text(script)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(path), str(root / "bars.parquet")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr.read() if proc.stderr else ''}")
    bars, trades = out.split()
    return {"wall_secs": wall, "bars": int(bars), "peak_rss_mb": rusage.ru_maxrss / 1024, "trades": int(trades)}


BUILT_IN = {"file": str(HERE / "sma_cross_with_indicators.py"), "class": "SmaCrossWithIndicators"}
USER_FILE = {"file": str(HERE / "user_sma_cross.py"), "class": "UserSmaCross"}


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def compare(root: Path, symbols: list[str], days: list[tuple[date, datetime, int]], repeat: int) -> None:
    runners: dict[str, Callable[[], dict[str, float]]] = {
        "mismarterad built-in": lambda: run_mismarterad(root, symbols, days, BUILT_IN, "builtin"),
        "mismarterad user file": lambda: run_mismarterad(root, symbols, days, USER_FILE, "user"),
        "backtrader": lambda: run_script(root, "bt_run", BACKTRADER_SCRIPT),
        "backtesting.py": lambda: run_script(root, "btpy_run", BACKTESTING_SCRIPT),
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
    for _ in range(repeat):  # interleaved, so a slower moment of the machine hits every runner alike
        for name, run in runners.items():
            results[name].append(run())
    bars = results["mismarterad built-in"][0]["bars"]
    print(f"\n{len(symbols)} symbol(s) x {len(days)} days = {bars:,} bars, {repeat} run(s) each (median; all runs)")
    print(f"{'':24}{'process s':>10}{'peak RSS MB':>13}{'trades':>8}   runs (s)")
    for name, runs in results.items():
        walls = ", ".join(f"{r['wall_secs']:.2f}" for r in runs)
        print(f"{name:24}{median(runs, 'wall_secs'):>10.2f}{median(runs, 'peak_rss_mb'):>13.0f}"
              f"{runs[0]['trades']:>8}   {walls}")
    ours = median(results["mismarterad built-in"], "wall_secs")
    user = median(results["mismarterad user file"], "wall_secs")
    bt, btpy = median(results["backtrader"], "wall_secs"), median(results["backtesting.py"], "wall_secs")
    print(f"built-in:  {bt / ours:.1f}x backtrader, {btpy / ours:.1f}x backtesting.py")
    print(f"user file: {bt / user:.1f}x backtrader, {btpy / user:.1f}x backtesting.py")
    same = results["mismarterad built-in"][0]["trade_rows"] == results["mismarterad user file"][0]["trade_rows"]
    print(f"built-in and user-file trades identical: {same}")


def memory(root: Path, symbols: list[str], days: list[tuple[date, datetime, int]], short_days: int) -> None:
    short = run_mismarterad(root, symbols, days[:short_days], BUILT_IN, f"mem{short_days}")
    full = run_mismarterad(root, symbols, days, BUILT_IN, f"mem{len(days)}")
    print(f"peak RSS, built-in, {len(symbols)} symbols: {short['peak_rss_mb']:.0f} MB at {short_days} days, "
          f"{full['peak_rss_mb']:.0f} MB at {len(days)} days ({full['peak_rss_mb'] / short['peak_rss_mb'] - 1:+.1%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, nargs="+", default=[10])
    parser.add_argument("--days", type=int, default=DAYS, help="trading days per data set")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, interleaved (the median is shown)")
    parser.add_argument("--memory-days", type=int, default=63, help="the shorter run of the memory check (0: none)")
    args = parser.parse_args()
    install_competitors()
    days = trading_days(args.days)
    for count in args.symbols:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            symbols = prepare(root, count, days)
            print(f"\none-time state set-up (database, calendar sync): {set_up_state(root, days):.2f} s")
            compare(root, symbols, days, args.repeat)
            if args.memory_days and count == max(args.symbols):
                memory(root, symbols, days, args.memory_days)


if __name__ == "__main__":
    main()
