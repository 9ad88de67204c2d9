"""`mismarterad run`: the daemon."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mismarterad.cli.clock_options import add_clock_arguments, clock_from_args
from mismarterad.cli.support import EX_USAGE

if TYPE_CHECKING:
    from mismarterad.config.api_config import ApiConfig
    from mismarterad.config.settings import Settings
    from mismarterad.daemon.control import DaemonControl, FrontEnd
    from mismarterad.daemon.daemon import Daemon
    from mismarterad.daemon.state_lock import StateLock

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad run --config /etc/mismarterad/mismarterad.toml
  mismarterad run --config mismarterad.toml --clock replay --start 2011-01-04T09:00:00-05:00 --speed 600

Under systemd with ConfigurationDirectory= ($CONFIGURATION_DIRECTORY), `mismarterad run` reads
$CONFIGURATION_DIRECTORY/mismarterad.toml and a relative --config is taken in that directory;
elsewhere --config is required and a relative one is taken in the current directory.

The daemon runs the config's session every trading day from open - lead_minutes to close +
lag_minutes, in live mode whatever the session config's `mode` says. With --clock replay its
clock starts at --start (an ISO time with its UTC offset) and runs --speed times faster (with
--anchor UNIX_SECS it reads --start at that real instant: give an emulator the same three); with
broker = "paper", bars come from the store as the clock passes their end, so a stored day
replays through the real scheduler, threads and paper broker. With broker = "alpaca" they come
from Alpaca's data stream (or the emulator's: `mismarterad emulate alpaca`), keys from
APCA_API_KEY_ID/APCA_API_SECRET_KEY, [alpaca] credentials_file (mode 0600) or
$CREDENTIALS_DIRECTORY/alpaca. With broker = "schwab" from Schwab's streamer (or `mismarterad
emulate schwab`), the app's key and secret from SCHWAB_APP_KEY/SCHWAB_APP_SECRET, [schwab]
credentials_file or $CREDENTIALS_DIRECTORY/schwab, its token from `mismarterad auth schwab`
(renewed weekly). SIGTERM/SIGINT stop it (exit 0), SIGHUP reloads the config.
One daemon per state directory: a second one exits 75 naming the first's pid (lock file
<state>/mismarterad.lock).

daemon config keys (TOML): session_config (required), broker = "paper"|"alpaca"|"schwab", socket_path,
socket_group, metrics_address = "127.0.0.1:9108", lead_minutes = 30, lag_minutes = 5,
max_session_restarts = 3, restart_backoff_seconds = 5, on_shutdown = "flatten"|"cancel"|"leave",
database_url (or LoadCredential=database_url:FILE; docs/operations.md), data_dir, and a [risk] table (max_shares_per_symbol, max_notional_per_symbol,
max_gross_exposure, max_open_orders, max_orders_per_minute, price_collar_pct, daily_loss_limit,
no_entry_minutes_before_close, allow_short, pattern_day_trader; README "Risk limits"), and an
[alpaca] table (paper = true, feed = "iex"|"sip", endpoint, credentials_file,
live_trading_confirmed; docs/operations.md), a [schwab] table (account_number, token_file,
endpoint, credentials_file, live_trading_confirmed), and an [api] table for the REST API and web
console (address = "127.0.0.1:8321", tls_cert, tls_key, allow_insecure_remote = false,
token_ttl_minutes = 480, login_failures_per_user = 5, login_failures_per_address = 20,
login_window_minutes = 15; users from `mismarterad user add`). broker = "alpaca" or "schwab" needs the
session config's flatten_minutes_before_close of at least 1. A [paper] table: initial_cash = 1000000, what a
new paper account opens with (it keeps its cash and positions until mismarterctl paper reset).
Errors exit 78 naming the key."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run the daemon", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="daemon config (TOML); default under systemd: $CONFIGURATION_DIRECTORY/mismarterad.toml")
    add_clock_arguments(p)
    p.set_defaults(func=_run, needs_app=False)


def _run(args: argparse.Namespace) -> int:
    from mismarterad.cli.control_api import ControlApi
    from mismarterad.cli.logging import configure_logging, print_error
    from mismarterad.cli.support import daemon_settings
    from mismarterad.config.settings import daemon_config_path
    from mismarterad.daemon.daemon import Daemon
    from mismarterad.runs.loaded_config import load_config
    from mismarterad.daemon.state_lock import acquire_state_lock

    config_path = daemon_config_path(args.config)
    if config_path is None:
        print_error("mismarterad: error: run needs --config FILE (under systemd, ConfigurationDirectory= supplies "
                    "$CONFIGURATION_DIRECTORY/mismarterad.toml)")
        return EX_USAGE
    loaded = load_config(config_path)
    settings = daemon_settings(loaded.daemon)
    clock = clock_from_args(args)
    socket_path = loaded.daemon.socket_path or _default_socket(settings.state_dir)
    daemon: Daemon | None = None

    def count_error(component: str) -> None:
        if daemon is not None:
            daemon.metrics.count_error(component)

    # one daemon per state directory, before the database, the reports or the socket are touched
    # (LockedError: exit 75 naming the holder's pid); held until this process ends
    with acquire_state_lock(settings.state_dir) as state_lock:
        configure_logging(settings.log_format, settings.log_level, on_error=count_error)
        _startup_warnings(state_lock, in_daemon_config=loaded.daemon.database_url is not None)
        daemon = Daemon(loaded, settings, clock, socket_path, lambda control: ControlApi(control).handle, state_lock,
                        front_end=_api(loaded.daemon.api, settings))
        code = daemon.run()
        if code == 0:
            state_lock.mark_stopped()  # a deploy's restart: no unclean-restart alert for the next one
        return code


def _startup_warnings(state_lock: StateLock, *, in_daemon_config: bool) -> None:
    """Said once at start: the previous daemon died (it did not stop in order), and a
    database_url credential shadowed by a value a person set (never the values)."""
    import structlog

    from mismarterad.config.settings import credential_database_url
    from mismarterad.core.errors import ConfigError

    log = structlog.get_logger(component="daemon")
    if state_lock.previous_unclean:
        log.warning("previous_daemon_died", lock=str(state_lock.path),
                    note="it did not stop in order (the watchdog, kill -9, a crash, the host going down); "
                         "the day resumes from the journal")
    in_environment = bool(os.environ.get("MISMARTERAD_DATABASE_URL"))
    if not (in_daemon_config or in_environment):
        return
    try:
        shadowed, problem = credential_database_url() is not None, None
    except ConfigError as exc:  # unused, so not fatal: said with the warning
        shadowed, problem = True, str(exc)
    if shadowed:
        log.warning("database_url_credential_ignored",
                    used="the daemon config's database_url" if in_daemon_config else "MISMARTERAD_DATABASE_URL",
                    note="$CREDENTIALS_DIRECTORY/database_url comes after both (docs/operations.md)", problem=problem)


def _api(config: ApiConfig | None, settings: Settings) -> Callable[[DaemonControl], FrontEnd] | None:
    """The REST API over the daemon, answering with the socket's own commands; FastAPI and
    uvicorn are imported only when the config has an [api] table."""
    if config is None:
        return None

    def build(control: DaemonControl) -> FrontEnd:
        from mismarterad.api.server import build_api
        from mismarterad.cli.control_api import ControlApi

        return build_api(control, ControlApi(control).handle, config, settings)

    return build


def _default_socket(state_dir: Path) -> Path:
    runtime = os.environ.get("RUNTIME_DIRECTORY") or os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime.split(":")[0]) / "mismarterad.sock"
    return state_dir / "mismarterad.sock"
