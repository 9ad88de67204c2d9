"""`mismarterad time now|session`: what TimeManager says about now or a date."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mismarterad.cli.support import arg_date

if TYPE_CHECKING:
    from mismarterad.runs.app import App

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad time now
  mismarterad time session 2024-11-29          # day after Thanksgiving: early close 13:00
  mismarterad time session 2012-10-29          # Hurricane Sandy closure
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("time", help="current market time and trading-session details", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    now = actions.add_parser("now", help="current time in the market time zone and the market session")
    now.add_argument("--exchange-group", default="US_EQUITY")
    now.set_defaults(func=_now)
    session = actions.add_parser("session", help="hours, holiday or early close of one date", epilog=EXAMPLES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    session.add_argument("date", type=arg_date, metavar="DATE")
    session.add_argument("--exchange-group", default="US_EQUITY")
    session.set_defaults(func=_session)


def _now(args: argparse.Namespace, app: App) -> int:
    tm = app.time_manager(args.exchange_group)
    now = tm.get_current_time()
    day = now.date()
    print(f"now:            {now.isoformat(timespec='seconds')} ({tm.timezone.key})")
    print(f"market session: {tm.get_market_session(now).value}")
    if tm.is_trading_day(day):
        print(f"today:          trading day, {_hours(tm, day)}")
    print(f"next session:   {tm.get_next_trading_date(day).isoformat()}")
    return 0


def _session(args: argparse.Namespace, app: App) -> int:
    tm = app.time_manager(args.exchange_group)
    s = tm.get_trading_session(args.date)
    print(f"date:           {args.date.isoformat()} ({args.date.strftime('%A')})")
    if not s.is_trading_day:
        print(f"status:         closed: {s.holiday_name or 'weekend'}")
    else:
        assert s.pre_market_open and s.post_market_close
        print(f"status:         trading day{' (early close)' if s.is_early_close else ''}")
        print(f"regular:        {_hours(tm, args.date)}")
        print(f"extended:       {s.pre_market_open.strftime('%H:%M')}-{s.post_market_close.strftime('%H:%M')}")
    print(f"previous:       {tm.get_previous_trading_date(args.date).isoformat()}")
    print(f"next:           {tm.get_next_trading_date(args.date).isoformat()}")
    print(f"time zone:      {tm.timezone.key}")
    return 0


def _hours(tm, day) -> str:  # type: ignore[no-untyped-def]
    s = tm.get_trading_session(day)
    return f"{s.regular_open.strftime('%H:%M')}-{s.regular_close.strftime('%H:%M')} ({s.regular_open.strftime('%Z')})"
