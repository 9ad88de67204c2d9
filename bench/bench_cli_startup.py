"""Start-up time of the command-line tools, as whole processes.

Run: .venv/bin/python bench/bench_cli_startup.py [--runs N]

Each command is started N times (default 15), interleaved with the others so that a slow
moment of the machine hits all of them alike; the median and the fastest run are printed.
Against it, in the same run:

* `python -c pass`: the floor, an interpreter that imports nothing of ours;
* `python -c "import mismarterad.runs.app, mismarterad.daemon.daemon"`: what every command
  paid before the handlers imported their own dependencies (the whole pipeline, SQLAlchemy,
  pyarrow, the exchange calendars and the broker clients).

`mismarterctl status` is measured against a real daemon (replay clock parked on a Saturday,
started by bench_daemon's helper), so the figure includes the socket round trip and the table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_daemon import BIN, start  # noqa: E402

PYTHON = str(BIN / "python")
EAGER = "import mismarterad.runs.app, mismarterad.daemon.daemon"


def timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        proc, sock, _port = start(Path(tmp), "2011-01-08T10:00:00-05:00", 1.0)
        try:
            commands = {
                "python -c pass": [PYTHON, "-c", "pass"],
                "eager imports (before)": [PYTHON, "-c", EAGER],
                "mismarterad --version": [str(BIN / "mismarterad"), "--version"],
                "mismarterad --help": [str(BIN / "mismarterad"), "--help"],
                "mismarterctl status": [str(BIN / "mismarterctl"), "--socket", str(sock), "status"],
            }
            samples: dict[str, list[float]] = {name: [] for name in commands}
            for name, argv in commands.items():  # warm the page cache and the .pyc files first
                timed(argv)
            for _ in range(runs):
                for name, argv in commands.items():
                    samples[name].append(timed(argv))
        finally:
            proc.terminate()
            proc.wait(30)
    floor = statistics.median(samples["python -c pass"])
    print(f"{'command':<26}{'median s':>10}{'fastest s':>11}{'x python -c pass':>18}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<26}{median:>10.3f}{min(values):>11.3f}{median / floor:>18.1f}")


if __name__ == "__main__":
    main()
