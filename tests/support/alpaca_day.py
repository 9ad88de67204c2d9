"""A replayed day through the real daemon and the real Alpaca emulator, two processes that meet
only over the emulator's port: the daemon's config names the emulator as its `endpoint` and its
keys come from the environment, as a user's would.

The emulator's store is filled with `mismarterad data import` (its own data directory, never the
daemon's); the daemon's store starts empty, so its history comes over REST.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from alpaca.trading.client import TradingClient
from support.alpaca_emulator import KEY_ID, SECRET, NY, AlpacaEmulator, start_emulator
from support.daemon_process import DAEMON_SESSION_CONFIG, SPY_JANUARY, DaemonProcess, base_env, executable, make_daemon

from mismarterad.core.market_data import Bar
from mismarterad.repositories.parquet_bar_store import ParquetBarStore

FLATTEN_MINUTES = 10


def import_emulator_store(data_dir: Path) -> Path:
    """The emulator's own store: the bundled SPY January 2011 minutes, imported by the CLI."""
    env = base_env(data_dir.parent / "import-state", data_dir)
    subprocess.run([executable("mismarterad"), "data", "import", str(SPY_JANUARY), "--symbol", "SPY"], env=env,
                   check=True, capture_output=True, timeout=120)
    return data_dir


def alpaca_session_config(root: Path, **overrides: Any) -> Path:
    """The daemon tests' SPY config, closing positions FLATTEN_MINUTES before the close (Alpaca
    refuses market-on-close orders after 15:50)."""
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
class AlpacaDay:
    emulator: AlpacaEmulator
    daemon: DaemonProcess
    daemon_data: Path

    def client(self) -> TradingClient:
        return TradingClient(self.emulator.key_id, self.emulator.secret, url_override=self.emulator.base_url)

    def emulator_now(self) -> datetime:
        return self.client().get_clock().timestamp.astimezone(UTC)

    def report(self, day: str) -> Path:
        return self.daemon.root / "state" / "reports" / day

    def venue_requests(self) -> list[dict[str, Any]]:
        """What reached the emulator's Alpaca side (its own /_emulator controls left out)."""
        return [r for r in self.emulator.requests() if not r["path"].startswith("/_emulator")]

    def posted_ids(self) -> list[str]:
        return [r["client_order_id"] for r in self.venue_requests() if r["method"] == "POST" and r["path"] == "/v2/orders"]


def start_alpaca_day(root: Path, emulator_data: Path, session_config: Path, *, day: str, start: time,
                     speed: float, secret: str = SECRET, daemon_speed: float | None = None,
                     **daemon_config: Any) -> AlpacaDay:
    """The emulator, running on its replay clock from `start` (New York) of `day`, and the daemon
    (not started yet) on its own replay clock from the emulator's /v2/clock time: it trails the
    emulator by its own start-up, as a daemon started at the emulator's time does."""
    root.mkdir(parents=True, exist_ok=True)
    emulator = start_emulator(emulator_data, root / "emulator-state",
                              clock_start=datetime.combine(date.fromisoformat(day), start, NY).isoformat(),
                              speed=speed)
    client = TradingClient(KEY_ID, SECRET, url_override=emulator.base_url)
    now = client.get_clock().timestamp.astimezone(UTC)
    daemon_data = root / "daemon-data"
    config: dict[str, Any] = {"broker": "alpaca", "lead_minutes": 5, "lag_minutes": 2,
                              **daemon_config}
    config.setdefault("alpaca", {})
    config["alpaca"] = {"endpoint": emulator.base_url, **config["alpaca"]}
    daemon = make_daemon(root / "daemon", daemon_data, session_config=session_config,
                         start=now.isoformat(), speed=daemon_speed or speed, **config)
    daemon.env.update(APCA_API_KEY_ID=KEY_ID, APCA_API_SECRET_KEY=secret)
    return AlpacaDay(emulator, daemon, daemon_data)


def regular_session_bars(data_dir: Path, symbol: str, day: str) -> list[Bar]:
    d = date.fromisoformat(day)
    start = datetime.combine(d, time(9, 30), NY).astimezone(UTC)
    end = datetime.combine(d, time(16, 0), NY).astimezone(UTC)
    return list(ParquetBarStore(data_dir).read_bars(symbol, "1m", start, end))


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
