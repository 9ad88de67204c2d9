"""`mismarterad sweep CONFIG --param NAME=V1,V2 ... --from D --to D --out DIR`: a parameter sweep on Ray."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from mismarterad.cli.support import EX_IOERR, EX_UNAVAILABLE, EX_USAGE, arg_date, reversed_range, terminal_progress

__all__ = ["register"]

EXAMPLES = """examples:
  mismarterad sweep session_configs/spy_2011_backtest.json --param fast=5,10,20 --param slow=30,60 \\
      --from 2011-01-03 --to 2011-01-31 --out out/sweep
  mismarterad sweep CONFIG --param fast=5,10 --param slow=30,60 --from 2011-01-03 --to 2011-03-31 \\
      --walk-forward 20:5 --objective total_return --out out/wf
  mismarterad sweep CONFIG --param fast=5,10 --from 2011-01-03 --to 2011-01-31 \\
      --address 10.0.0.5:6379 --out out/cluster

Every combination of the --param values is backtested over --from..--to, each as one Ray task
(a local Ray with one worker per core, or the cluster at --address: the bar store
(MISMARTERAD_DATA_DIR) and the config's folder must be at the same paths on every node).
DIR receives results.csv (one row per combination: the parameters, the summary figures of
its single `mismarterad backtest`, the probability columns, the error of a failed one),
heatmap.png (the objective over the first two parameters), best.json and sweep.json; with
--walk-forward TRAIN:TEST also walk_forward.csv: parameters chosen on each TRAIN-session
window and measured on the next TEST sessions, rolling by TEST. A failed combination is
reported and the others go on; the exit code is 1 only when every combination failed.
"""

OBJECTIVE_NAMES = "sharpe, total_return, max_drawdown (lowest), win_rate, p_positive_edge, deflated_sharpe"


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: expected a whole number of at least 1")
    return int(text)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("sweep", help="backtest every combination of strategy parameters on Ray", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", type=Path, metavar="CONFIG", help="session config (JSON)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2",
                   help="a strategy parameter and its values (repeat for more parameters)")
    p.add_argument("--strategy", type=int, default=0, metavar="INDEX",
                   help="which of the config's strategies the parameters are for (0-based; default 0)")
    p.add_argument("--from", dest="start", type=arg_date, required=True, metavar="YYYY-MM-DD", help="first day")
    p.add_argument("--to", dest="end", type=arg_date, required=True, metavar="YYYY-MM-DD", help="last day")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="sweep folder")
    p.add_argument("--workers", type=_positive, default=None, metavar="N",
                   help="backtests at once (default: the local cores, or the cluster's CPUs)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="an existing Ray cluster (host:port of its head, or 'auto'); default: a local Ray")
    p.add_argument("--walk-forward", default=None, metavar="TRAIN:TEST",
                   help="choose on TRAIN sessions, measure on the next TEST, rolling (e.g. 60:20)")
    p.add_argument("--objective", default="sharpe", metavar="NAME",
                   help=f"what is best: {OBJECTIVE_NAMES} (default sharpe)")
    p.set_defaults(func=_sweep, needs_app=False)


def _usage_error(message: str) -> int:
    print(f"mismarterad: error: {message}", file=sys.stderr)
    return EX_USAGE


def _sweep(args: argparse.Namespace) -> int:
    # imported here, not at the top: `mismarterad --help` must not pay for Ray or the pipeline
    from mismarterad.cli.logging import print_error
    from mismarterad.config.session_config import load_session_config
    from mismarterad.core.clock import SimClock
    from mismarterad.core.errors import StorageError
    from mismarterad.runs.app import App
    from mismarterad.runs.reports import probe_out_dir
    from mismarterad.runs.sweep_grid import check_axes, parse_param
    from mismarterad.runs.sweep_ray import RayPool, RayUnavailableError
    from mismarterad.runs.sweep_report import write_sweep_report
    from mismarterad.runs.sweep_runner import OBJECTIVES, SweepPlan, SweepProgress, out_of_sample_totals, run_sweep
    from mismarterad.services.walk_forward import parse_walk_forward

    if (err := reversed_range(args.start, args.end)) is not None:
        return err
    if args.objective not in OBJECTIVES:
        return _usage_error(f"--objective {args.objective!r}: expected one of {', '.join(OBJECTIVES)}")
    try:
        axes = tuple(parse_param(text) for text in args.param)
        walk = parse_walk_forward(args.walk_forward) if args.walk_forward is not None else None
    except ValueError as exc:
        return _usage_error(str(exc))
    config = load_session_config(args.config)  # a bad config: exit 78
    config_dir = args.config.resolve().parent
    try:
        check_axes(axes, config, args.strategy, config_dir)
    except ValueError as exc:
        return _usage_error(str(exc))
    app = App(clock=SimClock(datetime(1970, 1, 1, tzinfo=UTC)))
    sessions = tuple(app.time_manager(config.exchange_group, config.asset_class).trading_days(args.start, args.end))
    if not sessions:
        return _usage_error(f"--from {args.start} --to {args.end} holds no trading day")
    if walk is not None and len(sessions) < sum(walk):
        return _usage_error(f"--walk-forward {args.walk_forward} needs at least {sum(walk)} sessions; "
                            f"--from {args.start} --to {args.end} holds {len(sessions)}")
    try:  # before the sweep, not after it: a bad --out found at the end would lose every result
        probe_out_dir(args.out)
    except StorageError as exc:
        print_error(f"mismarterad: --out {args.out}: {exc}")
        return EX_IOERR
    plan = SweepPlan(config, config_dir, app.settings.data_dir, args.strategy, axes, args.start, args.end,
                     args.objective, walk, sessions)
    try:
        with RayPool(args.workers, args.address) as pool, terminal_progress("sweep") as update:
            def show(p: SweepProgress) -> None:
                if update is not None:
                    update(p.done, p.total, f"backtest {p.done}/{p.total}", f"{p.failed} failed" if p.failed else "")

            result = run_sweep(plan, pool.run, show)
            engine = {"name": "ray", "version": pool.version, "address": args.address or "local",
                      "workers": pool.workers}
    except RayUnavailableError as exc:
        print_error(f"mismarterad: {exc}")
        return EX_UNAVAILABLE
    out = write_sweep_report(args.out, plan, result, engine, args.config.resolve())
    failed = [r for r in result.rows if r.error is not None]
    for row in failed:
        print_error(f"mismarterad: combination {_params(row.params)} failed: {row.error}")
    print(f"{config.session_name}: {len(result.rows)} combinations over {args.start} to {args.end}, "
          f"{len(failed)} failed")
    print(f"{result.wall_secs:.1f} s on {pool.workers} Ray workers ({engine['address']})")
    if result.best is not None:
        f = result.best.figures
        # with walk-forward this choice saw every test window: say so, the windows are the answer
        where = " over the whole range (in sample)" if walk is not None else ""
        print(f"best by {args.objective}{where}: {_params(result.best.params)}")
        print(f"  {_figure('total_return', f, '+.2%')}, {_figure('sharpe', f, '.2f')}, "
              f"{_figure('max_drawdown', f, '.2%')}, {_figure('trades', f, 'd')}, "
              f"{_figure('p_positive_edge', f, '.1%')}, {_figure('deflated_sharpe', f, '.1%')}")
    for w in result.windows:
        chosen = "none" if w.params is None else _params(w.params)
        print(f"window {w.window.index}: test {w.window.test[0]}..{w.window.test[-1]} {chosen}: "
              f"{args.objective} in {_value(w.in_sample.get(args.objective))} "
              f"out {_value(w.out_of_sample.get(args.objective))}")
    if walk is not None:
        totals = out_of_sample_totals(result.windows)
        print(f"out of sample, {totals['windows_measured']} test windows chained: "
              f"{_figure('total_return', totals, '+.4%')}, {_figure('mean_sharpe', totals, '.2f')}")
    print(f"report: {out}")
    return 0 if len(failed) < len(result.rows) else 1


def _params(params: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _figure(name: str, figures: dict[str, object], spec: str) -> str:
    value = figures.get(name)
    return f"{name} {'-' if value is None else format(value, spec)}"


def _value(value: object) -> str:
    return "-" if value is None else f"{value:.4g}"
