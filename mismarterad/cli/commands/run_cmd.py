"""`mismarterad run`: the daemon."""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

from typing import TYPE_CHECKING

from mismarterad.core.clock import Clock, ReplayClock, SystemClock
from mismarterad.core.errors import ConfigError

if TYPE_CHECKING:
    from mismarterad.daemon.daemon import Daemon

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad run --config /etc/mismarterad/daemon.toml
  mismarterad run --config daemon.toml --clock replay --start 2011-01-04T09:00:00-05:00 --speed 600

The daemon runs the config's session every trading day from open - lead_minutes to close +
lag_minutes, in live mode whatever the session config's `mode` says. With --clock replay its
clock starts at --start (an ISO time with its UTC offset) and runs --speed times faster; with
broker = "paper", bars come from the store as the clock passes their end, so a stored day
replays through the real scheduler, threads and paper broker. With broker = "alpaca" they come
from Alpaca's data stream (or the emulator's: `mismarterad emulate alpaca`), keys from
APCA_API_KEY_ID/APCA_API_SECRET_KEY, [alpaca] credentials_file (mode 0600) or
$CREDENTIALS_DIRECTORY/alpaca. SIGTERM/SIGINT stop it (exit 0), SIGHUP reloads the config.
One daemon per state directory: a second one exits 75 naming the first's pid (lock file
<state>/mismarterad.lock).

daemon config keys (TOML): session_config (required), broker = "paper"|"alpaca", socket_path,
socket_group, metrics_address = "127.0.0.1:9108", lead_minutes = 30, lag_minutes = 5,
max_session_restarts = 3, restart_backoff_seconds = 5, on_shutdown = "flatten"|"cancel"|"leave",
database_url, data_dir, and a [risk] table (max_shares_per_symbol, max_notional_per_symbol,
max_gross_exposure, max_open_orders, max_orders_per_minute, price_collar_pct, daily_loss_limit,
no_entry_minutes_before_close, allow_short, pattern_day_trader; README "Risk limits"), and an
[alpaca] table (paper = true, feed = "iex"|"sip", endpoint, credentials_file,
live_trading_confirmed; docs/operations.md). broker = "alpaca" needs the session config's
flatten_minutes_before_close of at least 1. A [paper] table: initial_cash = 1000000, what a
new paper account opens with (it keeps its cash and positions until mismarterctl paper reset).
Errors exit 78 naming the key."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run the daemon", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, required=True, metavar="FILE", help="daemon config (TOML)")
    p.add_argument("--clock", choices=("system", "replay"), default="system")
    p.add_argument("--start", default=None, metavar="ISO", help="replay clock start, e.g. 2011-01-04T09:00:00-05:00")
    p.add_argument("--speed", type=float, default=None, metavar="N", help="replay speed (default 60)")
    p.set_defaults(func=_run, needs_app=False)


def _run(args: argparse.Namespace) -> int:
    from mismarterad.cli.control_api import ControlApi
    from mismarterad.cli.logging import configure_logging
    from mismarterad.config.settings import load_settings
    from mismarterad.daemon.daemon import Daemon
    from mismarterad.daemon.loaded_config import load_config
    from mismarterad.daemon.state_lock import acquire_state_lock

    loaded = load_config(args.config)
    overrides: dict[str, object] = {}
    if loaded.daemon.database_url is not None:
        overrides["database_url"] = loaded.daemon.database_url
    if loaded.daemon.data_dir is not None:
        overrides["data_dir"] = loaded.daemon.data_dir
    settings = load_settings(**overrides)
    clock = _clock(args)
    socket_path = loaded.daemon.socket_path or _default_socket(settings.state_dir)
    daemon: Daemon | None = None

    def count_error(component: str) -> None:
        if daemon is not None:
            daemon.metrics.count_error(component)

    # one daemon per state directory, before the database, the reports or the socket are touched
    # (LockedError: exit 75 naming the holder's pid); held until this process ends
    with acquire_state_lock(settings.state_dir) as state_lock:
        configure_logging(settings.log_format, settings.log_level, on_error=count_error)
        daemon = Daemon(loaded, settings, clock, socket_path, lambda control: ControlApi(control).handle, state_lock)
        return daemon.run()


def _clock(args: argparse.Namespace) -> Clock:
    if args.clock == "system":
        if args.start is not None or args.speed is not None:
            raise ConfigError("--start and --speed need --clock replay")
        return SystemClock()
    if args.start is None:
        raise ConfigError("--clock replay needs --start (an ISO time with its offset, e.g. 2011-01-04T09:00:00-05:00)")
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        raise ConfigError(f"--start: not an ISO 8601 time: {args.start!r}") from None
    if start.tzinfo is None:
        raise ConfigError(f"--start: give the UTC offset (e.g. {args.start}-05:00), got a naive time")
    speed = 60.0 if args.speed is None else args.speed
    if not 0 < speed <= 100_000:
        raise ConfigError(f"--speed: must be > 0 and <= 100000, got {speed}")
    return ReplayClock(start, speed)


def _default_socket(state_dir: Path) -> Path:
    runtime = os.environ.get("RUNTIME_DIRECTORY") or os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime.split(":")[0]) / "mismarterad.sock"
    return state_dir / "mismarterad.sock"
