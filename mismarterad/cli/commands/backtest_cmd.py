"""`mismarterad backtest CONFIG --out DIR`: run a session config over stored data."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mismarterad.cli.support import arg_date, reversed_range

if TYPE_CHECKING:
    from mismarterad.runs.backtest_runner import Progress as RunProgress

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad data sample
  mismarterad backtest session_configs/spy_2011_backtest.json --out out/spy
  mismarterad backtest session_configs/spy_2011_backtest.json --from 2011-01-03 --to 2011-01-07 --out out/week1

DIR receives trades.csv, orders.csv, equity.csv, summary.json, validation.csv, equity.png,
report.html (identical for identical config and data) and run.json (wall-clock figures). The
folder is written elsewhere and moved into place only when complete; a failed run leaves no
report, and so does a run in which no session ran (every day skipped: exit 65). The figures
per strategy and symbol, with buy and hold, are printed as a table (summary.json's
`performance`).
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("backtest", help="run a session config over stored bars and write a report", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", type=Path, metavar="CONFIG", help="session config (JSON)")
    p.add_argument("--from", dest="start", type=arg_date, default=None, metavar="YYYY-MM-DD",
                   help="first day (inclusive); replaces backtest_days")
    p.add_argument("--to", dest="end", type=arg_date, default=None, metavar="YYYY-MM-DD", help="last day (inclusive)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="report folder")
    p.set_defaults(func=_backtest, needs_app=False)


def _backtest(args: argparse.Namespace) -> int:
    # imported here, not at the top: `mismarterad --help` must not pay for the whole pipeline
    import json

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mismarterad.config.session_config import load_session_config
    from mismarterad.core.clock import SimClock
    from mismarterad.runs.app import App
    from mismarterad.runs.backtest_runner import run_backtest
    from mismarterad.runs.report_table import final_equity_shown, render_table
    from mismarterad.runs.reports import write_backtest_report

    if (args.start is None) != (args.end is None):
        print("mismarterad: error: give both --from and --to, or neither", file=sys.stderr)
        return 2
    if (err := reversed_range(args.start, args.end)) is not None:
        return err
    config = load_session_config(args.config)
    app = App(clock=SimClock(datetime(1970, 1, 1, tzinfo=UTC)))
    if sys.stderr.isatty():
        # on stderr, beside the logs: while it is shown, log lines are printed above it (cli/logging.py)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                      TimeElapsedColumn(), transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task("backtest", total=None, info="")

            def show(p: RunProgress) -> None:
                rate = p.bars_processed / p.elapsed_secs if p.elapsed_secs else 0.0
                equity = f"equity {p.equity:,.2f}" if p.equity is not None else ""
                bar.update(task, total=p.days_total, completed=p.days_done,
                           description=f"day {p.days_done}/{p.days_total}",
                           info=f"{rate:,.0f} bars/s {equity}")

            outcome = run_backtest(app, config, args.config.resolve().parent, args.start, args.end, show)
    else:
        outcome = run_backtest(app, config, args.config.resolve().parent, args.start, args.end)
    tm = app.time_manager(config.exchange_group, config.asset_class)
    out = write_backtest_report(args.out, outcome.result, tm.timezone, outcome.run_info)
    r = outcome.result
    performance = json.loads((out / "summary.json").read_text())["performance"]
    final = final_equity_shown(r.initial_cash, r.equity[-1].equity if r.equity else r.initial_cash, performance)
    print(f"{config.session_name}: {r.first_day} to {r.last_day}")
    print(f"{len(r.sessions_run)} sessions ({len(r.sessions_skipped)} skipped), {r.bars_processed:,} bars, "
          f"{len(r.fills):,} fills")
    print(f"equity {r.initial_cash:,.2f} -> {final:,.2f} ({final / r.initial_cash - 1:+.2%})")  # initial_cash > 0
    print()
    print(render_table(performance))
    print()
    print(f"report: {out}")
    return 0
