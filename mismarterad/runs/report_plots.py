"""`equity.png`: the equity curve (and buy and hold) over the drawdown, in the run's steps.

The x axis is the step number, so nights and weekends take no room; its ticks carry the dates
(the hours for a one-day run). Money is printed in full, never as an offset (`+1e6`). The PNG
is written without software or date metadata: the same data give the same bytes. At most
PLOT_POINTS points are drawn (each stretch of steps shows its last equity and its deepest
drawdown), picked from the run's columns, so the drawing costs the same for a day or a year.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from mismarterad.core.run_result import RunResult
from mismarterad.runs.report_clock import local_offsets, local_wall_us
from mismarterad.services.curve_columns import curve_columns

__all__ = ["PLOT_POINTS", "plot_equity", "step_ticks"]

PLOT_POINTS = 4000  # more points than pixels only costs time
MAX_TICKS = 8
_US_PER_HOUR = 3_600_000_000


def step_ticks(local_times: Sequence[datetime]) -> tuple[list[int], list[str]]:
    """Tick positions (step numbers) and labels: each session's first step, labelled with its
    date, thinned to at most MAX_TICKS; for a single session, the first step of each new hour."""
    firsts = [i for i, t in enumerate(local_times) if i == 0 or t.date() != local_times[i - 1].date()]
    if len(firsts) > 1:
        every = -(-len(firsts) // MAX_TICKS)
        chosen = firsts[::every]
        return chosen, [local_times[i].strftime("%Y-%m-%d") for i in chosen]
    hours = [i for i, t in enumerate(local_times) if i > 0 and t.hour != local_times[i - 1].hour] or [0]
    return hours, [local_times[i].strftime("%H:%M") for i in hours]


def plot_equity(path: Path, result: RunResult, drawdown: Sequence[float], tz: ZoneInfo,
                benchmark: Sequence[float] | None) -> None:
    """Write the PNG: equity (and `benchmark`, the buy-and-hold curve) on top, drawdown below."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    columns = curve_columns(result.equity)
    n = len(columns)
    step = max(1, -(-n // PLOT_POINTS))
    x = list(range(0, n, step))
    last_of_stretch = np.minimum(np.arange(0, n, step) + step, n) - 1
    equity = columns.equity[last_of_stretch].tolist()
    worst = np.maximum.reduceat(np.asarray(drawdown, dtype=np.float64), x).tolist() if n else []
    fig = Figure(figsize=(10, 6), dpi=100)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot(x, equity, linewidth=0.8, color="tab:blue", label="equity")
    if benchmark is not None and len(benchmark) == n:
        top.plot(x, np.asarray(benchmark, dtype=np.float64)[last_of_stretch].tolist(), linewidth=0.8,
                 color="tab:gray", label="buy & hold")
        top.legend(loc="best", frameon=False)
    top.set_title(f"{result.session_name}: {result.first_day} to {result.last_day}")
    top.set_ylabel("equity")
    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"${v:,.0f}"))
    top.grid(True, linewidth=0.3)
    bottom.fill_between(x, [-100 * d for d in worst], 0, color="tab:red", linewidth=0)
    bottom.set_ylabel("drawdown")
    bottom.yaxis.set_major_formatter(PercentFormatter(100))  # as many decimals as the range needs
    bottom.grid(True, linewidth=0.3)
    if n:
        wall = local_wall_us(columns.ts_us, local_offsets(columns.ts_us, tz))
        # only the first step of each wall-clock hour can carry a tick (a date changes with its hour)
        hours = wall // _US_PER_HOUR
        firsts = np.flatnonzero(np.concatenate(([True], hours[1:] != hours[:-1])))
        local = wall[firsts].astype("datetime64[us]").astype(object).tolist()  # naive wall-clock datetimes
        ticks, labels = step_ticks(local)
        bottom.set_xticks(firsts[ticks].tolist(), labels)
        bottom.set_xlabel(f"{result.first_day} ({tz.key} time)" if len({t.date() for t in local}) == 1
                          else f"sessions ({tz.key} dates)")
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
