"""Compare month and day partitioning of ParquetBarStore on 1 symbol x 2 years of 1m bars.

Run: .venv/bin/python bench/bench_store_partitioning.py [--years 2]

Both layouts use the real store; the day layout only overrides the two partition hooks. Bars are
synthetic extended-hours sessions (04:00-20:00 America/New_York, weekdays), so evenings cross
UTC midnight as real data does.
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

_NY = ZoneInfo("America/New_York")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.parquet$")


class DayPartitionedStore(ParquetBarStore):
    """The same store with one file per UTC date."""

    def _partition_name(self, interval: str, start_utc: datetime) -> str:
        return f"{start_utc:%Y-%m-%d}.parquet"

    def _partition_bounds(self, name: str) -> tuple[datetime, datetime] | None:
        m = _DAY.match(name)
        if m is None:
            return None
        first = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
        return first, first + timedelta(days=1)


def sessions(first: date, years: int) -> list[date]:
    days, d = [], first
    while d < first.replace(year=first.year + years):
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def session_bars(day: date, rng: random.Random) -> list[Bar]:
    start = datetime(day.year, day.month, day.day, 4, tzinfo=_NY).astimezone(UTC)
    price, out = 100.0, []
    for i in range(16 * 60):
        o = price
        c = round(o + rng.uniform(-0.05, 0.05), 2)
        hi, lo = max(o, c) + 0.01, min(o, c) - 0.01
        out.append(Bar("SPY", "1m", start + timedelta(minutes=i), o, hi, lo, c, rng.randint(0, 5000)))
        price = c
    return out


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def measure(store: ParquetBarStore, root: Path, days: list[date], bars: list[Bar]) -> dict[str, float]:
    by_day: dict[date, list[Bar]] = {}
    for b in bars:
        by_day.setdefault(b.start_utc.astimezone(_NY).date(), []).append(b)
    months: dict[tuple[int, int], list[Bar]] = {}
    for b in bars[: -16 * 60]:  # keep the last session for the append test
        months.setdefault((b.start_utc.year, b.start_utc.month), []).append(b)

    def import_by_month() -> None:  # how DataManager imports: a file (about a month) at a time
        for chunk in months.values():
            store.write_bars("SPY", "1m", chunk)

    rng = random.Random(1)
    sample = rng.sample(days[:-1], 20)

    def read_days() -> None:
        for d in sample:
            t0 = datetime(d.year, d.month, d.day, tzinfo=_NY)
            store.read_bars("SPY", "1m", t0, t0 + timedelta(days=1))

    far = datetime(2100, 1, 1, tzinfo=UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    mid = days[len(days) // 2]
    m0 = datetime(mid.year, mid.month, 1, tzinfo=_NY)
    m1 = (m0 + timedelta(days=32)).replace(day=1)
    out = {
        "import all (s)": timed(import_by_month),
        "re-import, no change (s)": timed(import_by_month),
        "append 1 session (ms)": 1000 * timed(lambda: store.write_bars("SPY", "1m", by_day[days[-1]])),
        "read_bars 1 day (ms)": 1000 * timed(read_days) / len(sample),
        "read_table 1 month (ms)": 1000 * timed(lambda: store.read_table("SPY", "1m", m0, m1), 5),
        "read_table all (s)": timed(lambda: store.read_table("SPY", "1m", epoch, far), 3),
        "read_bars all (s)": timed(lambda: store.read_bars("SPY", "1m", epoch, far)),
    }
    files = list((root / "bars").rglob("*.parquet"))
    out["files"] = len(files)
    out["MB on disk"] = sum(f.stat().st_size for f in files) / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=int, default=2)
    args = parser.parse_args()
    days = sessions(date(2011, 1, 3), args.years)
    rng = random.Random(0)
    bars = [b for d in days for b in session_bars(d, rng)]
    print(f"{len(bars):,} bars, {len(days)} sessions")
    results = {}
    for name, cls in (("month", ParquetBarStore), ("day", DayPartitionedStore)):
        with tempfile.TemporaryDirectory() as tmp:
            results[name] = measure(cls(Path(tmp)), Path(tmp), days, bars)
    print(f"{'':28}{'month':>10}{'day':>10}{'day/month':>11}")
    for key in results["month"]:
        m, d = results["month"][key], results["day"][key]
        print(f"{key:28}{m:10.3f}{d:10.3f}{d / m:11.2f}")


if __name__ == "__main__":
    main()
