"""Report files of a finished backtest or live session.

Everything but `run.json` is a pure function of the RunResult, so the same config and data
give byte-identical files: rows are sorted, numbers printed as their shortest exact text, the
PNG carries no software or date metadata (runs/report_plots.py) and the HTML page no
timestamp or random id (runs/report_html.py). summary.json's `performance` holds the table of
figures per strategy and symbol, with buy and hold (runs/report_table.py). The folder is written beside its destination
and renamed into place, so it appears complete or not at all.
"""

from __future__ import annotations

import csv
import errno
from functools import lru_cache
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog

import numpy as np

from mismarterad.core.failpoints import failpoint
from mismarterad.core.errors import StorageError
from mismarterad.core.market_data import format_price
from mismarterad.core.redaction import redact
from mismarterad.core.risk import RiskCheck
from mismarterad.core.run_result import RunResult
from mismarterad.runs.report_clock import first_offsets_of_utc_dates, iso_local, local_offsets, local_wall_us
from mismarterad.runs.report_html import write_html
from mismarterad.runs.report_plots import plot_equity
from mismarterad.runs.report_table import benchmark_of, performance_figures
from mismarterad.services.bar_columns import US_PER_MINUTE, to_us
from mismarterad.services.curve_columns import CurveColumns, curve_columns
from mismarterad.services.performance import Summary, daily_returns, drawdown_array, summarize
from mismarterad.services.probability_engine import deflated_sharpe, p_positive_edge, wilson_interval
from mismarterad.services.trade_matching import Trade, match_trades

__all__ = ["REPORT_FILES", "backtest_summary", "deflated_sharpe_figure", "probability_figures", "probe_out_dir",
           "remove_stale_staging", "risk_figures", "session_returns", "staged_folder", "strategy_figures",
           "write_backtest_report", "write_failure_report", "write_rebuilt_report"]

# what `staged_folder` leaves when its process dies: `.<date>.` + mkdtemp's suffix, or `.<date>.old`
_STAGING = re.compile(r"^\.\d{4}-\d{2}-\d{2}\.[^./]+$")

log = structlog.get_logger(component="reports")

REPORT_FILES = ("trades.csv", "orders.csv", "risk.csv", "equity.csv", "summary.json", "validation.csv", "equity.png",
                "report.html")


def write_backtest_report(out_dir: Path, result: RunResult, tz: ZoneInfo, run_info: dict[str, object]) -> Path:
    """Write every report file into `out_dir` (replacing an older report there); return it.

    A failed write (disk full, read-only, permissions) raises StorageError naming the folder and
    the reason; nothing is half-written (the staging folder is removed, an older report stays)."""
    with staged_folder(out_dir) as staging:
        trades = match_trades(result.matched_fills())
        _write_trades_and_orders(staging, result, trades, tz)
        columns = curve_columns(result.equity)
        peaks = drawdown_array(np.concatenate(([result.initial_cash], columns.equity)))[1:]
        _write_equity(staging / "equity.csv", columns, peaks, tz)
        failpoint("report_writing")  # a crash test's kill, half-way through the folder
        benchmark = benchmark_of(result)
        summary = backtest_summary(result, trades, tz, columns)
        summary["performance"] = performance_figures(result, trades, benchmark)
        (staging / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        _write_validation(staging / "validation.csv", result, tz)
        curve = None if benchmark is None else benchmark.curve
        plot_equity(staging / "equity.png", result, peaks, tz, curve)
        write_html(staging / "report.html", result, summary, trades, peaks, curve, tz)
        _write_run_info(staging / "run.json", run_info)
    return out_dir.resolve()


def write_rebuilt_report(out_dir: Path, result: RunResult, tz: ZoneInfo, summary: dict[str, object],
                         run_info: dict[str, object]) -> Path:
    """A report rebuilt from the database after its write was lost: the trade and order files
    exactly as `write_backtest_report` writes them, with the summary the caller could compute."""
    with staged_folder(out_dir) as staging:
        _write_trades_and_orders(staging, result, match_trades(result.matched_fills()), tz)
        (staging / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        _write_run_info(staging / "run.json", run_info)
    return out_dir.resolve()


def _write_trades_and_orders(staging: Path, result: RunResult, trades: Sequence[Trade], tz: ZoneInfo) -> None:
    _write_csv(staging / "trades.csv", ["symbol", "entry_time", "entry_price", "exit_time", "exit_price",
                                        "quantity", "pnl", "strategy"], _trade_rows(trades, tz))
    _write_csv(staging / "orders.csv", ["client_order_id", "symbol", "side", "quantity", "type", "limit_price",
                                        "stop_price", "status", "submitted_time", "filled_time",
                                        "filled_quantity", "avg_fill_price", "strategy", "reason"],
               _order_rows(result, tz))
    _write_csv(staging / "risk.csv", ["time", "strategy", "symbol", "side", "quantity", "check", "limit", "value"],
               [[_local(r.ts_utc, tz), r.strategy, r.symbol, r.side, r.quantity, r.check.value, _number(r.limit),
                 _number(r.value)] for r in result.refusals])


def write_failure_report(out_dir: Path, run_info: dict[str, object]) -> Path:
    """The folder of a session that never ran: only `run.json`, saying why (staged and renamed)."""
    with staged_folder(out_dir) as staging:
        _write_run_info(staging / "run.json", run_info)
    return out_dir.resolve()


def _write_run_info(path: Path, run_info: dict[str, object]) -> None:
    # error texts can quote URLs (a database's, with its password): redacted like the logs
    path.write_text(json.dumps(redact(run_info), indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def staged_folder(out_dir: Path) -> Iterator[Path]:
    """A folder beside `out_dir` to write into; renamed into place (replacing an older one) only
    when the block completes, removed when it fails."""
    out_dir = out_dir.resolve()
    staging = _new_staging(out_dir)
    try:
        yield staging
        for f in staging.iterdir():
            os.chmod(f, 0o644)
        os.chmod(staging, 0o755)
        _swap_into_place(staging, out_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _storage_error(out_dir, exc) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def probe_out_dir(out_dir: Path) -> None:
    """Raise StorageError now when a folder could not be written at `out_dir` (its parent cannot
    be made, is a file, is read-only or not ours): for a command whose report comes only after
    a long run, so the run is not lost to a bad path found at its end."""
    shutil.rmtree(_new_staging(out_dir.resolve()), ignore_errors=True)


def _new_staging(out_dir: Path) -> Path:
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as exc:
        raise _storage_error(out_dir, exc) from exc


def remove_stale_staging(reports_dir: Path) -> list[Path]:
    """Remove every folder `staged_folder` left behind under `reports_dir` (a process that ended while
    writing a report); return what was removed."""
    if not reports_dir.is_dir():
        return []
    removed = []
    for entry in sorted(reports_dir.iterdir()):
        if _STAGING.match(entry.name) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
            log.warning("report_staging_removed", path=str(entry),
                        reason="left by a process that ended while writing a report")
            removed.append(entry)
    return removed


def _storage_error(out_dir: Path, exc: OSError) -> StorageError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno is not None and exc.strerror:
        reason = f"{reason} ({errno.errorcode.get(exc.errno, exc.errno)})"
    return StorageError(f"cannot write the report folder {out_dir}: {reason} (the report was not written)")


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out_dir)


def _local(ts: datetime | None, tz: ZoneInfo) -> str:
    return "" if ts is None else _iso(ts, tz)


@lru_cache(maxsize=4096)  # orders and fills share their steps' instants
def _iso(ts: datetime, tz: ZoneInfo) -> str:
    return ts.astimezone(tz).isoformat()


def _number(value: float | None) -> str:
    return "" if value is None else format_price(round(value, 10))


def _money(value: float) -> str:
    return format_price(round(value, 6))


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def _write_equity(path: Path, columns: CurveColumns, drawdown: np.ndarray, tz: ZoneInfo) -> None:
    """One row per step, written in chunks. Flat stretches repeat the same values, so their text
    is made once; the UTC offset is the one of the first step of each UTC date (fixed within a
    session)."""
    n = len(columns)
    values = (columns.cash, columns.positions_value, columns.equity, drawdown)
    changed = np.ones(n, dtype=bool)
    for column in values:
        changed[1:] |= column[1:] != column[:-1]
    # _money and _number of every value, inlined: 300,000 calls a year of steps
    money = [[repr(round(v, 6)).removesuffix(".0") for v in column[changed].tolist()] for column in values[:3]]
    falls = [repr(round(v, 10)).removesuffix(".0") for v in drawdown[changed].tolist()]
    texts = [f"{c},{v},{e},{d}\n" for c, v, e, d in zip(*money, falls, strict=True)]
    text_of = np.cumsum(changed) - 1
    stamps = iso_local(columns.ts_us, first_offsets_of_utc_dates(columns.ts_us, tz))
    with path.open("w") as handle:
        handle.write("timestamp,cash,positions_value,equity,drawdown\n")
        for first in range(0, n, _CHUNK_LINES):
            rows = range(first, min(first + _CHUNK_LINES, n))
            handle.write("".join(f"{stamps[i]},{texts[j]}" for i, j in zip(rows, text_of[rows].tolist(), strict=True)))


_CHUNK_LINES = 20_000


def _trade_rows(trades: Sequence[Trade], tz: ZoneInfo) -> list[list[object]]:
    entries = _local_texts([t.entry_utc for t in trades], tz)
    exits = _local_texts([t.exit_utc for t in trades], tz)
    return [[t.symbol, entry, format_price(t.entry_price), exit_, format_price(t.exit_price), t.quantity * t.direction,
             _money(t.pnl), t.strategy] for t, entry, exit_ in zip(trades, entries, exits, strict=True)]


def _order_rows(result: RunResult, tz: ZoneInfo) -> list[list[object]]:
    submitted = _local_texts([o.request.submitted_utc for o in result.orders], tz)
    filled = _local_texts([o.filled_utc for o in result.orders], tz)
    rows = []
    for o, sent, done in zip(result.orders, submitted, filled, strict=True):
        r = o.request
        rows.append([r.client_order_id, r.symbol, r.side.value, r.quantity, r.type.value,
                     "" if r.limit_price is None else format_price(r.limit_price),
                     "" if r.stop_price is None else format_price(r.stop_price), o.status.value,
                     sent, done, o.filled_quantity,
                     "" if o.avg_fill_price is None else format_price(o.avg_fill_price), r.strategy,
                     o.reason or ""])
    return rows


def _local_texts(times: Sequence[datetime | None], tz: ZoneInfo) -> list[str]:
    """`_local` of each instant, made by numpy (runs/report_clock.py): tens of thousands of
    orders and trades, most of them at instants of their own."""
    us = np.array([to_us(t) for t in times if t is not None], dtype=np.int64)
    texts = iter(iso_local(us, local_offsets(us, tz)))
    return ["" if t is None else next(texts) for t in times]


def _session_end_equity(result: RunResult, tz: ZoneInfo, columns: CurveColumns) -> list[float]:
    """Each run session's equity at its last step (the step ending at t counts in the market date
    of t − 1 minute)."""
    before = columns.ts_us - US_PER_MINUTE
    dates = local_wall_us(before, local_offsets(before, tz)) // 86_400_000_000  # market dates, as days
    out = []
    for day in result.sessions_run:
        number = (day - date(1970, 1, 1)).days
        i = int(np.searchsorted(dates, number, side="right")) - 1
        if i >= 0 and dates[i] == number:
            out.append(float(columns.equity[i]))
    return out


def session_returns(result: RunResult, tz: ZoneInfo) -> list[float]:
    """The run's daily returns (each session's, on the equity it started from)."""
    return daily_returns(result.initial_cash, _session_end_equity(result, tz, curve_columns(result.equity)))


def backtest_summary(result: RunResult, trades: Sequence[Trade], tz: ZoneInfo,
                     columns: CurveColumns | None = None) -> dict[str, object]:
    """summary.json without its `performance` table: what a sweep's row repeats. `columns`: the
    run's equity curve as columns, when the caller has them already."""
    ends = _session_end_equity(result, tz, curve_columns(result.equity) if columns is None else columns)
    s = summarize(result.initial_cash, result.equity, result.sessions_run, ends, trades, result.bars_processed,
                  len(result.sessions_skipped))
    return _summary_json(result, s, trades, daily_returns(result.initial_cash, ends), tz)


def probability_figures(returns: Sequence[float], trades: Sequence[Trade]) -> dict[str, float | None]:
    """The probability engine's figures of a lone run (services/probability_engine.py): the
    Wilson interval of its win rate, `p_positive_edge` of its daily returns, and its deflated
    Sharpe ratio as one trial (the probability its Sharpe ratio is above zero)."""
    interval = wilson_interval(sum(1 for t in trades if t.pnl > 0), len(trades))
    return {
        "win_rate_low": None if interval is None else round(interval[0], 10),
        "win_rate_high": None if interval is None else round(interval[1], 10),
        "p_positive_edge": p_positive_edge(returns),
        "deflated_sharpe": deflated_sharpe_figure(returns),
    }


def deflated_sharpe_figure(returns: Sequence[float], trials: int = 1,
                           trials_sharpe_variance: float = 0.0) -> float | None:
    """`deflated_sharpe` among `trials` tries as the reports print it (summary.json, a sweep's
    rows): one rounding for both, so they cannot drift apart."""
    value = deflated_sharpe(returns, trials, trials_sharpe_variance)
    return None if value is None else round(value, 10)


def strategy_figures(result: RunResult, trades: Sequence[Trade]) -> dict[str, dict[str, object]]:
    """Per strategy id (every one that ordered): trades, win rate, realized P&L, orders, fills."""
    ids = sorted({o.request.strategy for o in result.orders} | {f.strategy for f in result.fills}
                 | {t.strategy for t in trades})
    out: dict[str, dict[str, object]] = {}
    for strategy_id in ids:
        own = [t for t in trades if t.strategy == strategy_id]
        wins = sum(1 for t in own if t.pnl > 0)
        out[strategy_id] = {
            "trades": len(own),
            "win_rate": round(wins / len(own), 10) if own else None,
            "pnl": round(sum(t.pnl for t in own), 6),
            "orders": sum(1 for o in result.orders if o.request.strategy == strategy_id),
            "fills": sum(1 for f in result.fills if f.strategy == strategy_id),
        }
    return out


def _summary_json(result: RunResult, s: Summary, trades: Sequence[Trade], returns: Sequence[float],
                  tz: ZoneInfo) -> dict[str, object]:
    return {
        "session_name": result.session_name,
        "mode": result.mode,
        "first_day": result.first_day.isoformat(),
        "last_day": result.last_day.isoformat(),
        "initial_equity": round(s.initial_equity, 6),
        "final_equity": round(s.final_equity, 6),
        "total_return": None if s.total_return is None else round(s.total_return, 10),
        "sharpe": None if s.sharpe is None else round(s.sharpe, 10),
        "max_drawdown": round(s.max_drawdown, 10),
        "trades": s.trades,
        "win_rate": None if s.win_rate is None else round(s.win_rate, 10),
        **probability_figures(returns, trades),
        "exposure": round(s.exposure, 10),
        "bars_processed": s.bars_processed,
        "orders": len(result.orders),
        "fills": len(result.fills),
        "sessions": s.sessions,
        "sessions_skipped": [{"date": d.isoformat(), "reason": why} for d, why in result.sessions_skipped],
        "strategies": strategy_figures(result, trades),
        "risk": risk_figures(result, tz),
    }


def risk_figures(result: RunResult, tz: ZoneInfo) -> dict[str, object]:
    """Refusals per check (every check, 0 included) and the daily-loss halts, for summary.json."""
    counts = {c.value: 0 for c in RiskCheck}
    for refusal in result.refusals:
        counts[refusal.check.value] += 1
    return {
        "refusals": counts,
        "loss_halts": [{"time": _local(h.ts_utc, tz), "date": h.day.isoformat(), "start_equity": _round(h.start_equity),
                        "equity": _round(h.equity), "loss": _round(h.loss), "limit": _round(h.limit)}
                       for h in result.loss_halts],
    }


def _round(value: float) -> float:
    return round(value, 6)


def _write_validation(path: Path, result: RunResult, tz: ZoneInfo) -> None:
    intervals = sorted({name for r in result.quality for name, _ in r.bars_by_interval},
                       key=lambda n: (n == "1d", n.endswith("h"), int(n[:-1])))
    header = ["date", "symbol", "status", "expected_1m", "quality_pct", "missing_1m", "gaps",
              *(f"bars_{n}" for n in intervals)]
    rows = []
    for r in sorted(result.quality, key=lambda r: (r.day, r.symbol)):
        counts = dict(r.bars_by_interval)
        gaps = ";".join(f"{g.start_utc.astimezone(tz):%H:%M}-{g.end_utc.astimezone(tz):%H:%M}" for g in r.gaps)
        status = "ok" if r.skipped_reason is None else f"skipped: {r.skipped_reason}"
        rows.append([r.day.isoformat(), r.symbol, status, r.expected_1m, _number(round(r.quality_pct, 4)),
                     sum(g.missing for g in r.gaps) if r.skipped_reason is None else r.expected_1m, gaps,
                     *(counts.get(n, 0) for n in intervals)])
    _write_csv(path, header, rows)
