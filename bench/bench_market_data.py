"""Import and aggregation throughput against pandas, measured in the same run.

Run: .venv/bin/python bench/bench_market_data.py [--days 60]

* import: `DataManager.import_file` (CSV parse, every validation rule, Parquet write) on a
  synthetic extended-hours 1m CSV, against pandas `read_csv` + `to_parquet` of the same file
  with no validation at all (a floor, not an equal).
* aggregation: `aggregate_session` (1m -> 5m, 15m, 1h, regular session, windows anchored at
  09:30) over every session, against pandas `resample` of the same bars with the same rules.
  Both outputs are compared so the two sides do the same work.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from mismarterad.config.settings import Settings
from mismarterad.core.intervals import parse_interval
from mismarterad.runs.app import App
from mismarterad.services.bar_aggregation import aggregate_session

NY = ZoneInfo("America/New_York")


def write_csv(path: Path, first: date, days: int) -> None:
    rng, price, d, written = random.Random(0), 100.0, first, 0
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        while written < days:
            if d.weekday() < 5:
                start = datetime(d.year, d.month, d.day, 4, tzinfo=NY)
                for i in range(16 * 60):
                    o = price
                    c = round(o + rng.uniform(-0.05, 0.05), 2)
                    out.writerow([(start + timedelta(minutes=i)).isoformat(), o, round(max(o, c) + 0.01, 2),
                                  round(min(o, c) - 0.01, 2), c, rng.randint(0, 5000)])
                    price = c
                written += 1
            d += timedelta(days=1)


def pandas_resample(frame: pd.DataFrame, minutes: int) -> pd.DataFrame:
    local = frame.tz_convert(NY)
    regular = local.between_time("09:30", "15:59")
    rule = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    out = regular.resample(f"{minutes}min", origin="start_day", offset="9h30min", label="left", closed="left").agg(rule)
    return out[regular["volume"].resample(f"{minutes}min", origin="start_day", offset="9h30min").count() > 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "bars.csv"
        write_csv(source, date(2011, 1, 3), args.days)
        app = App(settings=Settings(data_dir=root / "data", state_dir=root / "state"))
        tm = app.time_manager()
        dm = app.data_manager(tm)

        t0 = time.perf_counter()
        report = dm.import_file(source, "SPY", "1m")
        ours_import = time.perf_counter() - t0
        rows = report.rows_read
        t0 = time.perf_counter()
        pd.read_csv(source).to_parquet(root / "pandas.parquet")
        pandas_import = time.perf_counter() - t0
        print(f"import of {rows:,} rows: mismarterad {rows / ours_import:,.0f} rows/s (validated, stored), "
              f"pandas read_csv+to_parquet {rows / pandas_import:,.0f} rows/s (no validation); "
              f"ratio {pandas_import / ours_import:.2f}x")

        sessions = [tm.get_trading_session(d) for d in tm.trading_days(date(2011, 1, 3), date(2011, 12, 31))]
        sessions = sessions[: args.days - 5]  # the synthetic file also has bars on weekday holidays
        bars_by_day = {s.day: dm.get_bars("SPY", "1m", s.day, s.day) for s in sessions}
        total = sum(len(b) for b in bars_by_day.values())
        frame = pd.DataFrame(
            [(b.start_utc, b.open, b.high, b.low, b.close, b.volume) for bs in bars_by_day.values() for b in bs],
            columns=["t", "open", "high", "low", "close", "volume"],
        ).set_index("t")
        for name in ("5m", "15m", "1h"):
            interval = parse_interval(name)
            t0 = time.perf_counter()
            ours = [b for s in sessions for b in aggregate_session(bars_by_day[s.day], interval, s)]
            ours_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            theirs = pandas_resample(frame, interval.minutes)
            pandas_s = time.perf_counter() - t0
            assert len(ours) == len(theirs), (len(ours), len(theirs))
            assert [b.close for b in ours] == theirs["close"].tolist()
            assert [b.start_utc for b in ours] == [t.astimezone(UTC) for t in theirs.index]
            print(f"aggregate 1m->{name} over {total:,} bars: mismarterad {total / ours_s:,.0f} bars/s, "
                  f"pandas resample {total / pandas_s:,.0f} bars/s; ratio {pandas_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
