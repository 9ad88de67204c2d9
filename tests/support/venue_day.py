"""A replayed day through the real daemon and a real venue emulator, two processes that meet only
over the emulator's port: the daemon's config names the emulator as its `endpoint` and its
credentials come from the environment, as a user's would.

The emulator's store is filled with `mismarterad data import` (its own data directory, never the
daemon's); the daemon's store starts empty, so its history comes over REST. Each venue's module
(alpaca_day.py, schwab_day.py) starts its emulator and names its table.
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from support.daemon_process import DAEMON_SESSION_CONFIG, SPY_JANUARY, DaemonProcess, base_env, executable, make_daemon
from support.emulator_process import NY, EmulatorProcess, wait_until

from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

FLATTEN_MINUTES = 10
# real seconds the emulator runs before a day's `start`, for the daemon's start-up (emulator_start)
STARTUP_ALLOWANCE_SECS = 6.0


def import_emulator_store(data_dir: Path) -> Path:
    """An emulator's own store: the bundled SPY January 2011 minutes, imported by the CLI."""
    env = base_env(data_dir.parent / "import-state", data_dir)
    subprocess.run([executable("mismarterad"), "data", "import", str(SPY_JANUARY), "--symbol", "SPY"], env=env,
                   check=True, capture_output=True, timeout=120)
    return data_dir


def venue_session_config(root: Path, **overrides: Any) -> Path:
    """The daemon tests' SPY config, closing positions FLATTEN_MINUTES before the close (the
    venues refuse market-on-close orders after 15:50)."""
    config = json.loads(DAEMON_SESSION_CONFIG.read_text())
    config.update({"flatten_minutes_before_close": FLATTEN_MINUTES, **overrides})
    root.mkdir(parents=True, exist_ok=True)
    path = root / "alpaca_session.json"
    path.write_text(json.dumps(config))
    return path


def backtest_trades(session_config: Path, data_dir: Path, day: str, root: Path) -> str:
    subprocess.run([executable("mismarterad"), "backtest", str(session_config), "--from", day, "--to", day,
                    "--out", str(root / "bt")], env=base_env(root / "bt-state", data_dir), check=True,
                   capture_output=True, timeout=120)
    return (root / "bt" / "trades.csv").read_text()


@dataclass
class VenueDay:
    emulator: EmulatorProcess
    daemon: DaemonProcess
    daemon_data: Path

    def emulator_now(self) -> datetime:
        return self.emulator.now()

    def report(self, day: str) -> Path:
        return self.daemon.root / "state" / "reports" / day

    def venue_requests(self) -> list[dict[str, Any]]:
        """What reached the emulator's venue side (its own /_emulator controls left out)."""
        return [r for r in self.emulator.requests() if not r["path"].startswith("/_emulator")]


@dataclass
class ReplayedDay:
    """What a replayed day's daemon said on its way: its status when running, after 60 bars and
    at the end, and its metrics and ctl output mid-day."""

    running: dict[str, Any]
    mid: dict[str, Any]
    done: dict[str, Any]
    metrics: str
    status_text: str
    orders_text: str


def replay_whole_day(day: VenueDay) -> ReplayedDay:
    """Start the daemon and follow its day to the end (its report written)."""
    d = day.daemon
    d.start()
    d.wait_ready()
    # the streams authorize within moments of the threads starting
    running = d.wait_for(lambda s: s["state"] == "RUNNING" and s["broker"]["connected"], 60,
                         "the session to start, connected")
    mid = d.wait_for(lambda s: s["bars_processed"] > 60, 120, "bars to flow from the emulator")
    metrics, status_text, orders_text = d.metrics(), d.ctl("status").stdout, d.ctl("--json", "orders").stdout
    done = d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 300, "the day to end")
    return ReplayedDay(running, mid, done, metrics, status_text, orders_text)


def assert_flat_and_bars_kept(day: VenueDay, emulator_data: Path, trading_day: str) -> None:
    """After the close: the emulator's account is flat with no open orders, and the daemon's
    store (empty at the start) holds the day's session, its history having come over REST."""
    state = day.emulator.state()
    assert state["positions"] == [] and state["open_orders"] == []
    assert regular_session_bars(day.daemon_data, "SPY", trading_day) == regular_session_bars(
        emulator_data, "SPY", trading_day)
    assert regular_session_bars(day.daemon_data, "SPY", "2011-01-03"), "history came over REST"


def final_outputs(day: VenueDay, replayed: ReplayedDay) -> list[str]:
    """Everything the daemon answered a person: metrics, status, orders and config (ctl)."""
    d = day.daemon
    return [d.metrics(), replayed.status_text, replayed.orders_text, d.ctl("--json", "config").stdout,
            d.ctl("status").stdout]


def everything_written(day: VenueDay, extra: list[str], skip: frozenset[str] = frozenset()) -> bytes:
    """Every byte the daemon put anywhere a person or a scraper can read: its log, its state
    directory (database, reports, halt file; files named in `skip` aside), its data directory,
    and `extra` (metrics, ctl output)."""
    out = [day.daemon.log_text().encode(), *(t.encode() for t in extra)]
    for root in (day.daemon.root / "state", day.daemon_data):
        out += [p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name not in skip]
    return b"\n".join(out)


def run_with_faults(day: VenueDay, steps: list[tuple[Callable[[], bool], str, dict[str, Any]]]) -> dict[str, Any]:
    """Start the daemon, arm each fault once its condition holds, and return the final status."""
    day.daemon.start()
    day.daemon.wait_ready()
    for ready, kind, params in steps:
        wait_until(ready, 60)
        day.emulator.fault(kind, **params)
    return day.daemon.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 120,
                               "the day to end")


def market_time(day: VenueDay, t: datetime) -> Callable[[], bool]:
    """Whether the emulator's clock has reached `t`."""
    return lambda: day.emulator_now() >= t


def report_rows(day: VenueDay, trading_day: str, name: str) -> list[dict[str, str]]:
    with (day.report(trading_day) / name).open() as f:
        return list(csv.DictReader(f))


def emulator_start(day: str, start: time, speed: float) -> str:
    """The `--start` of an emulator's replay clock: STARTUP_ALLOWANCE_SECS of real time before
    `start` (New York) of `day`, the daemon's start-up (its clock runs in the emulator's time
    from its spawn: `daemon_at`), so it is up by `start` unless this machine is very slow."""
    at = datetime.combine(date.fromisoformat(day), start, NY) - timedelta(seconds=STARTUP_ALLOWANCE_SECS * speed)
    return at.isoformat()


def daemon_at(emulator: EmulatorProcess, root: Path, session_config: Path, speed: float, table: str,
              settings: dict[str, Any], env: dict[str, str], **daemon_config: Any) -> DaemonProcess:
    """The daemon (not started yet) on a replay clock anchored to the emulator's: whenever it is
    spawned and however long it takes to start, it reads the emulator's time, as a live daemon
    and its broker read the same wall clock. (A clock started at the emulator's time by the
    daemon's process trailed the emulator by that process's start-up: 14 minutes at 600x on a
    loaded machine, so the pre-close flatten reached the emulator after its close.) `table`
    ("alpaca", "schwab") gets `settings` with the emulator as its endpoint."""
    now, anchor = emulator.anchored_now()
    config: dict[str, Any] = {"broker": table, "lead_minutes": 5, "lag_minutes": 2, **daemon_config}
    config[table] = {"endpoint": emulator.base_url, **settings, **config.get(table, {})}
    daemon = make_daemon(root / "daemon", root / "daemon-data", session_config=session_config,
                         start=now.isoformat(), speed=speed, anchor=anchor, **config)
    daemon.env.update(env)
    return daemon


def regular_session_bars(data_dir: Path, symbol: str, day: str) -> list[Bar]:
    d = date.fromisoformat(day)
    start = datetime.combine(d, time(9, 30), NY).astimezone(UTC)
    end = datetime.combine(d, time(16, 0), NY).astimezone(UTC)
    return list(ParquetBarStore(data_dir).read_bars(symbol, "1m", start, end))
