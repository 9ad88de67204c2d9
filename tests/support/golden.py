"""The golden report files: backtests on the bundled sample data (and one synthetic set with
gaps and an early close) whose report files were generated before the columnar pipeline
(issue 14) and are compared byte for byte.

Regenerate only on purpose, when a report's content is meant to change (say why in the commit):
`PYTHONPATH=tests .venv/bin/python -m support.golden`.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from support.daemon_process import base_env, executable

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
SAMPLE = REPO / "mismarterad" / "sample_data"
NY = ZoneInfo("America/New_York")

#: compared byte for byte with the committed files
COMPARED = ("trades.csv", "orders.csv", "equity.csv", "risk.csv", "validation.csv", "summary.json")
#: compared by their SHA-256 (report.html is 1.4 MB, mostly the inlined BokehJS)
HASHED = ("report.html",)


@dataclass(frozen=True)
class GoldenCase:
    name: str
    config: Path
    imports: tuple[tuple[str, str, str], ...]  # (file under sample_data or "synthetic:<SYMBOL>", symbol, interval)


CASES = (
    GoldenCase("spy_2011_backtest", REPO / "session_configs" / "spy_2011_backtest.json",
               (("spy_1min_2011-01_ext_ninjatrader.csv", "SPY", "1m"),)),
    GoldenCase("tech_2023_breakout", GOLDEN / "configs" / "tech_2023_breakout.json",
               tuple((f"{s.lower()}_1min_2023-05-24_to_26_ext_lwc.csv", s, "1m") for s in ("AAPL", "GOOGL", "TSLA"))),
    GoldenCase("three_symbols_two_strategies", GOLDEN / "configs" / "three_symbols_two_strategies.json",
               tuple((f"{s.lower()}_1min_2023-05-24_to_26_ext_lwc.csv", s, "1m") for s in ("AAPL", "GOOGL", "TSLA"))),
    GoldenCase("spy_march_dst", GOLDEN / "configs" / "spy_march_dst.json",
               (("spy_1min_2011-03_ext_ninjatrader.csv", "SPY", "1m"),
                ("spy_daily_2007-12-31_to_2017-12-29_yahoo.csv", "SPY", "1d"))),
    GoldenCase("synthetic_gaps", GOLDEN / "configs" / "synthetic_gaps.json",
               tuple((f"synthetic:{s}", s, "1m") for s in ("AAA", "BBB", "CCC"))),
)


def synthetic_rows(symbol: str) -> Iterator[str]:
    """Seeded random-walk 1m bars (cents) of 2019-11-20 to 2019-12-03 with holes: random
    missing minutes, BBB missing all of 2019-11-27, CCC missing each session's last minute and
    every 5m window's last minute on 2019-11-26, sparse pre- and post-market bars. 2019-11-28
    is a holiday and 2019-11-29 closes at 13:00."""
    seed = sum(ord(c) for c in symbol)
    rng = random.Random(seed)
    cents = 5_000 + 700 * (seed % 5)
    day = date(2019, 11, 20)
    while day <= date(2019, 12, 3):
        if day.weekday() < 5 and day != date(2019, 11, 28):
            close = time(13) if day == date(2019, 11, 29) else time(16)
            start = datetime.combine(day, time(8), NY)
            end = datetime.combine(day, time(17, 30), NY)
            regular_open, regular_close = datetime.combine(day, time(9, 30), NY), datetime.combine(day, close, NY)
            t = start
            while t < end:
                regular = regular_open <= t < regular_close
                keep = rng.random() < (0.93 if regular else 0.2)
                if symbol == "BBB" and day == date(2019, 11, 27):
                    keep = False
                if symbol == "CCC" and regular and t == regular_close - timedelta(minutes=1):
                    keep = False
                if symbol == "CCC" and day == date(2019, 11, 26) and regular and t.minute % 5 == 4:
                    keep = False
                step = rng.randint(-9, 9)
                if keep:
                    o = cents
                    c = max(100, o + step)
                    hi, lo = max(o, c) + rng.randint(0, 4), min(o, c) - rng.randint(0, 4)
                    yield f"{t.isoformat()},{o / 100},{hi / 100},{lo / 100},{c / 100},{rng.randint(1, 50) * 100}\n"
                    cents = c
                t += timedelta(minutes=1)
        day += timedelta(days=1)


def run_case(case: GoldenCase, root: Path) -> Path:
    """Import the case's data into a fresh store under `root` and run its backtest; the report folder."""
    env = base_env(root / "state", root / "data")
    for source, symbol, interval in case.imports:
        if source.startswith("synthetic:"):
            path = root / f"{symbol}.csv"
            path.write_text("timestamp,open,high,low,close,volume\n" + "".join(synthetic_rows(symbol)))
        else:
            path = SAMPLE / source
        args = [executable("mismarterad"), "data", "import", str(path), "--symbol", symbol, "--interval", interval]
        if interval == "1d":
            args.append("--skip-bad-rows")  # the Yahoo SPY file's two known bad rows (SOURCES.md): exit 65
        imported = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
        if imported.returncode not in ((0, 65) if interval == "1d" else (0,)):
            raise AssertionError(f"{case.name}: import of {source} exited {imported.returncode}: {imported.stderr}")
    out = root / "report"
    result = subprocess.run([executable("mismarterad"), "backtest", str(case.config), "--out", str(out)], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{case.name}: backtest exited {result.returncode}:\n{result.stderr[-3000:]}")
    return out


def digests(out: Path) -> dict[str, str]:
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in HASHED}


def write_expected(case: GoldenCase, out: Path) -> None:
    target = GOLDEN / "expected" / case.name
    target.mkdir(parents=True, exist_ok=True)
    for name in COMPARED:
        (target / name).write_bytes((out / name).read_bytes())
    (target / "hashes.json").write_text(json.dumps(digests(out), indent=2, sort_keys=True) + "\n")


def main() -> None:
    import tempfile

    names = sys.argv[1:] or [c.name for c in CASES]
    for case in CASES:
        if case.name in names:
            with tempfile.TemporaryDirectory() as tmp:
                write_expected(case, run_case(case, Path(tmp)))
            print(f"wrote {case.name}")


if __name__ == "__main__":
    main()
