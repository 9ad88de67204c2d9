"""`mismarterad schedule`: the session windows the daemon would run, as CSV."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mismarterad.cli.support import arg_date

if TYPE_CHECKING:
    from mismarterad.runs.app import App

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad schedule                            # today and the 4 days after it
  mismarterad schedule --from 2024-03-08 --days 7
  mismarterad schedule --from 2024-11-25 --days 5 --config /etc/mismarterad/mismarterad.toml

Prints `date,start_utc,stop_utc` for every trading day among the N calendar days from DATE:
start = regular open - lead_minutes, stop = regular close + lag_minutes (30 and 5 unless the
daemon config says otherwise). Early closes, holidays and DST come from the exchange calendar."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("schedule", help="print the session plan of the coming days", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="start", type=arg_date, default=None, metavar="YYYY-MM-DD",
                   help="first day (default: today, exchange time)")
    p.add_argument("--days", type=int, default=5, metavar="N", help="calendar days to cover (1-3660, default 5)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE", help="daemon config (TOML)")
    p.set_defaults(func=_schedule)


def _schedule(args: argparse.Namespace, app: App) -> int:
    if not 1 <= args.days <= 3660:
        print(f"mismarterad: error: --days must be between 1 and 3660, got {args.days}", file=sys.stderr)
        return 2
    from mismarterad.config.daemon_config import load_daemon_config
    from mismarterad.services.session_plan import session_window

    lead, lag = timedelta(minutes=30), timedelta(minutes=5)
    if args.config is not None:
        config = load_daemon_config(args.config)
        lead, lag = timedelta(minutes=config.lead_minutes), timedelta(minutes=config.lag_minutes)
    tm = app.time_manager()
    start = args.start or tm.get_current_time().date()
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["date", "start_utc", "stop_utc"])
    for day in tm.trading_days(start, start + timedelta(days=args.days - 1)):
        window = session_window(tm.get_trading_session(day), lead, lag)
        out.writerow([day.isoformat(), _z(window.start_utc.isoformat()), _z(window.stop_utc.isoformat())])
    return 0


def _z(text: str) -> str:
    return text.replace("+00:00", "Z")
