"""`mismarterad emulate alpaca`: a local Alpaca (REST, data and trading streams) on one port."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mismarterad.cli.commands.run_cmd import _clock as clock_from_args
from mismarterad.core.errors import ConfigError

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


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("emulate", help="run a local venue emulator")
    venues = p.add_subparsers(dest="venue", required=True, metavar="VENUE")
    a = venues.add_parser("alpaca", help="emulate Alpaca's REST API and streams", epilog=EXAMPLES,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    a.add_argument("--port", type=_port, required=True, metavar="P", help="TCP port; 0 = any free port")
    a.add_argument("--key-id", required=True, metavar="K", help="the API key id clients must send")
    a.add_argument("--secret", required=True, metavar="S", help="the API secret clients must send")
    a.add_argument("--data-dir", type=Path, required=True, metavar="D", help="bar store to serve and replay")
    a.add_argument("--state-dir", type=Path, required=True, metavar="S", help="where the account persists")
    a.add_argument("--clock", choices=("system", "replay"), default="system")
    a.add_argument("--start", default=None, metavar="ISO", help="replay clock start, e.g. 2011-01-04T09:29:50-05:00")
    a.add_argument("--speed", type=float, default=None, metavar="N", help="replay speed (default 60)")
    a.set_defaults(func=_emulate, needs_app=False)


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
    from mismarterad.integrations.venue_emulator import ServeAt
    from mismarterad.repositories.parquet_bar_store import ParquetBarStore

    clock = clock_from_args(args)
    if not args.data_dir.is_dir():
        raise ConfigError(f"--data-dir: {args.data_dir} is not a directory")
    if not args.key_id or not args.secret:
        raise ConfigError("--key-id and --secret must not be empty")
    at = ServeAt(args.host, args.port, args.data_dir, args.state_dir)

    def announce(base_url: str) -> None:
        print(json.dumps({"listening": base_url}), flush=True)

    return run_emulator(at, Keys(args.key_id, args.secret), clock, ParquetBarStore(args.data_dir), announce)


