"""A replayed day through the real daemon and a real venue emulator, two processes that meet only
over the emulator's port: the daemon's config names the emulator as its `endpoint` and its
credentials come from the environment, as a user's would.

The emulator's store is filled with `mismarterad data import` (its own data directory, never the
daemon's); the daemon's store starts empty, so its history comes over REST. Each venue's module
(alpaca_day.py, schwab_day.py) starts its emulator and names its table.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from support.daemon_process import DAEMON_SESSION_CONFIG, SPY_JANUARY, DaemonProcess, base_env, executable, make_daemon
from support.emulator_process import NY, EmulatorProcess

from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

FLATTEN_MINUTES = 10


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
    config.update(flatten_minutes_before_close=FLATTEN_MINUTES, **overrides)
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


def emulator_start(day: str, start: time) -> str:
    """The `--start` of an emulator's replay clock: `start` (New York) of `day`."""
    return datetime.combine(date.fromisoformat(day), start, NY).isoformat()


def daemon_at(emulator: EmulatorProcess, root: Path, session_config: Path, speed: float, table: str,
              settings: dict[str, Any], env: dict[str, str], **daemon_config: Any) -> DaemonProcess:
    """The daemon (not started yet) on its own replay clock from the emulator's time now: it
    trails the emulator by its own start-up, as a daemon started at the emulator's time does.
    `table` ("alpaca", "schwab") gets `settings` with the emulator as its endpoint."""
    now = emulator.now().astimezone(UTC)
    config: dict[str, Any] = {"broker": table, "lead_minutes": 5, "lag_minutes": 2, **daemon_config}
    config[table] = {"endpoint": emulator.base_url, **settings, **config.get(table, {})}
    daemon = make_daemon(root / "daemon", root / "daemon-data", session_config=session_config,
                         start=now.isoformat(), speed=speed, **config)
    daemon.env.update(env)
    return daemon


def regular_session_bars(data_dir: Path, symbol: str, day: str) -> list[Bar]:
    d = date.fromisoformat(day)
    start = datetime.combine(d, time(9, 30), NY).astimezone(UTC)
    end = datetime.combine(d, time(16, 0), NY).astimezone(UTC)
    return list(ParquetBarStore(data_dir).read_bars(symbol, "1m", start, end))
