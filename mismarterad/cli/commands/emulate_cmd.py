"""`mismarterad emulate alpaca|schwab`: a local venue (REST, streams, controls) on one port."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from typing import TYPE_CHECKING

from mismarterad.cli.clock_options import add_clock_arguments, clock_from_args
from mismarterad.core.errors import ConfigError

if TYPE_CHECKING:  # the handlers import these themselves, so `--help` stays light
    from mismarterad.core.bar_store import BarStore
    from mismarterad.core.clock import Clock
    from mismarterad.integrations.venue_emulator import ServeAt

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad emulate alpaca --port 8700 --key-id KEY --secret SECRET --data-dir ./emu-data --state-dir ./emu-state
  mismarterad emulate alpaca --port 0 --key-id K --secret S --data-dir D --state-dir S \\
      --clock replay --start 2011-01-04T09:29:50-05:00 --speed 60

Point alpaca-py at it with url_override: TradingClient / StockHistoricalDataClient take
http://HOST:PORT, StockDataStream ws://HOST:PORT/v2/iex, TradingStream ws://HOST:PORT/stream.
Bars come from the --data-dir store (fill it with MISMARTERAD_DATA_DIR=D mismarterad data import ...)
and stream at each bar's end on the clock. The account ($100,000 to start) persists in
--state-dir/account.json. Once listening it prints {"listening": "http://HOST:PORT"} on stdout.
Controls without keys under /_emulator (faults, requests, state, bars, open, close); see
docs/emulator.md. SIGTERM/SIGINT stop it (exit 0)."""

SCHWAB_EXAMPLES = """examples:
  mismarterad emulate schwab --port 8800 --app-key KEY --app-secret SECRET --token-file ./schwab-token.json \\
      --data-dir ./emu-data --state-dir ./emu-state
  mismarterad emulate schwab --port 0 --app-key K --app-secret S --token-file T --data-dir D --state-dir S \\
      --clock replay --start 2011-01-04T09:29:50-05:00 --speed 60

It serves Schwab's REST calls the adapter makes under their real paths (accounts, orders, user
preferences, price history, market hours, OAuth), the streamer (CHART_EQUITY) at
ws://HOST:PORT/ws, and writes --token-file (mode 0600): a token of a fresh login, wall-clock
times. Point the daemon at it with [schwab] endpoint = "http://HOST:PORT" and token_file = that
file; the account number is 12345678 (--account-number). Bars come from the --data-dir store and
stream at each bar's end on the clock; the account ($100,000 to start) persists in
--state-dir/account.json. Once listening it prints {"listening": "http://HOST:PORT"} on stdout.
Controls without tokens under /_emulator (faults, requests, state, clock, bars, open, close),
the Alpaca emulator's fault kinds plus expire_refresh_token and streamer_login_code;
see docs/emulator.md."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("emulate", help="run a local venue emulator")
    venues = p.add_subparsers(dest="venue", required=True, metavar="VENUE")
    a = _venue(venues, "alpaca", "emulate Alpaca's REST API and streams", EXAMPLES)
    a.add_argument("--key-id", required=True, metavar="K", help="the API key id clients must send")
    a.add_argument("--secret", required=True, metavar="S", help="the API secret clients must send")
    a.set_defaults(func=_emulate, needs_app=False)
    w = _venue(venues, "schwab", "emulate Schwab's REST API, OAuth and streamer", SCHWAB_EXAMPLES)
    w.add_argument("--app-key", required=True, metavar="K", help="the app key clients must use")
    w.add_argument("--app-secret", required=True, metavar="S", help="the app secret clients must use")
    w.add_argument("--token-file", type=Path, required=True, metavar="FILE",
                   help="where to write a token the adapter can use (mode 0600)")
    w.add_argument("--account-number", default=None, metavar="N", help="the emulated account (default 12345678)")
    w.set_defaults(func=_emulate_schwab, needs_app=False)


def _venue(venues: argparse._SubParsersAction, name: str, help_: str,  # type: ignore[type-arg]
           examples: str) -> argparse.ArgumentParser:
    """A venue's parser with the options every emulator takes (address, store, account, clock)."""
    v = venues.add_parser(name, help=help_, epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    v.add_argument("--port", type=_port, required=True, metavar="P", help="TCP port; 0 = any free port")
    v.add_argument("--data-dir", type=Path, required=True, metavar="D", help="bar store to serve and replay")
    v.add_argument("--state-dir", type=Path, required=True, metavar="S", help="where the account persists")
    add_clock_arguments(v)
    return v


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected 0-65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: expected 0-65535")
    return port


def _emulate(args: argparse.Namespace) -> int:
    from mismarterad.integrations.alpaca_emulator import Keys, run_emulator

    at, clock, store = _common(args)
    if not args.key_id or not args.secret:
        raise ConfigError("--key-id and --secret must not be empty")
    return run_emulator(at, Keys(args.key_id, args.secret), clock, store, _announce)


def _emulate_schwab(args: argparse.Namespace) -> int:
    from mismarterad.integrations.schwab import TokenFile
    from mismarterad.integrations.schwab_emulator import DEFAULT_ACCOUNT_NUMBER, TokenIssuer, run_emulator

    at, clock, store = _common(args)
    if not args.app_key or not args.app_secret:
        raise ConfigError("--app-key and --app-secret must not be empty")
    number = args.account_number or DEFAULT_ACCOUNT_NUMBER
    if not number.isdigit():
        raise ConfigError(f"--account-number: digits expected, got {number!r}")
    try:
        return run_emulator(at, TokenIssuer(args.app_key, args.app_secret), TokenFile(args.token_file), clock,
                            store, _announce, number)
    except OSError as exc:  # the token file's directory
        raise ConfigError(f"--token-file {args.token_file}: cannot write it ({exc.strerror})") from None


def _common(args: argparse.Namespace) -> tuple[ServeAt, Clock, BarStore]:
    """What every emulator is given: its address and directories, its clock, its store."""
    from mismarterad.integrations.venue_emulator import ServeAt
    from mismarterad.repositories.parquet_bar_store import ParquetBarStore

    clock = clock_from_args(args)
    if not args.data_dir.is_dir():
        raise ConfigError(f"--data-dir: {args.data_dir} is not a directory")
    return ServeAt(args.host, args.port, args.data_dir, args.state_dir), clock, ParquetBarStore(args.data_dir)


def _announce(base_url: str) -> None:
    print(json.dumps({"listening": base_url}), flush=True)
