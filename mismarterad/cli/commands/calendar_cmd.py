"""`mismarterad calendar sync|export|show`: the stored exchange calendar."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from mismarterad.cli.support import arg_date, print_table, reversed_range

if TYPE_CHECKING:
    from mismarterad.runs.app import App

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad calendar sync --exchange-group US_EQUITY --from 2005-01-01 --to 2030-12-31
  mismarterad calendar export --exchange-group US_EQUITY --from 2024-01-01 --to 2024-12-31 > 2024.csv
  mismarterad calendar show                       # this week's trading sessions
  mismarterad calendar show --from 2024-11-25 --to 2024-12-31

Dates are exchange-local calendar dates; --from/--to include both ends.
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("calendar", help="sync, export and show the trading calendar", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, func, text in (
        ("sync", _sync, "fetch trading days from the exchange calendar into the database"),
        ("export", _export, "CSV of trading days: date,regular_open,regular_close,is_early_close"),
        ("show", _show, "table of trading sessions (default: this week)"),
    ):
        a = actions.add_parser(name, help=text, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
        a.add_argument("--exchange-group", default="US_EQUITY", help="exchange group (default US_EQUITY)")
        required = name != "show"
        a.add_argument("--from", dest="start", type=arg_date, required=required, metavar="YYYY-MM-DD")
        a.add_argument("--to", dest="end", type=arg_date, required=required, metavar="YYYY-MM-DD")
        a.set_defaults(func=func)


def _sync(args: argparse.Namespace, app: App) -> int:
    if (err := reversed_range(args.start, args.end)) is not None:
        return err
    tm = app.time_manager(args.exchange_group)
    written = tm.sync(args.start, args.end)
    trading = tm.count_trading_days(args.start, args.end)
    print(f"{args.exchange_group}: stored {written} calendar days, {trading} trading days, {args.start}..{args.end}")
    return 0


def _export(args: argparse.Namespace, app: App) -> int:
    if (err := reversed_range(args.start, args.end)) is not None:
        return err
    tm = app.time_manager(args.exchange_group)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["date", "regular_open", "regular_close", "is_early_close"])
    for day in tm.trading_days(args.start, args.end):
        s = tm.get_trading_session(day)
        assert s.regular_open is not None and s.regular_close is not None
        out.writerow(
            [day.isoformat(), s.regular_open.strftime("%H:%M"), s.regular_close.strftime("%H:%M"),
             "true" if s.is_early_close else "false"]
        )
    return 0


def _show(args: argparse.Namespace, app: App) -> int:
    if (err := reversed_range(args.start, args.end)) is not None:
        return err
    tm = app.time_manager(args.exchange_group)
    today = tm.get_current_time().date()
    start = args.start or today - timedelta(days=today.weekday())
    end = args.end or start + timedelta(days=6)
    rows = []
    day = start
    while day <= end:
        s = tm.get_trading_session(day)
        if s.is_trading_day:
            assert s.regular_open and s.regular_close and s.pre_market_open and s.post_market_close
            note = "early close" if s.is_early_close else ""
            rows.append([day.isoformat(), day.strftime("%a"), s.pre_market_open.strftime("%H:%M"),
                         s.regular_open.strftime("%H:%M"), s.regular_close.strftime("%H:%M"),
                         s.post_market_close.strftime("%H:%M"), note])
        else:
            rows.append([day.isoformat(), day.strftime("%a"), "", "", "", "", s.holiday_name or "closed (weekend)"])
        day += timedelta(days=1)
    print_table(
        ["date", "day", "pre-mkt", "open", "close", "post-mkt", "note"],
        rows,
        title=f"{args.exchange_group} sessions {start}..{end} ({tm.timezone.key})",
    )
    return 0
