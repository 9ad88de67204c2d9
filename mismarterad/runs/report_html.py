"""`report.html`: one self-contained page with the report's tables and interactive charts.

Bokeh draws the charts (equity with buy and hold, drawdown, each symbol's price with its trades;
their time axes pan and zoom together). Its JavaScript is inlined once and nothing is fetched:
no CDN, no remote font. The page is a pure function of the run: Bokeh's document JSON names
its models from a process-wide counter (or UUIDs), so the ids are renumbered in the order they
appear, and no timestamp is written. Long series are thinned (services/decimation.py); trade
markers never are.

The charts' x axis is the step number, so nights and weekends take no room; the tick labels are
the steps' exchange wall-clock times (kept as UTC milliseconds so that the browser's own time
zone never shifts them).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from mismarterad.core.run_result import RunResult
from mismarterad.runs.report_clock import local_offsets, local_wall_us
from mismarterad.runs.report_table import final_equity_shown, table_cells
from mismarterad.services.bar_columns import US_PER_MINUTE, to_datetime, to_us
from mismarterad.services.curve_columns import curve_columns, price_array
from mismarterad.services.decimation import decimate
from mismarterad.services.trade_matching import Trade

__all__ = ["BUCKETS", "TRADE_ROWS", "write_html"]

BUCKETS = 1500  # per series: at most 4 points each (first, low, high, last)
TRADE_ROWS = 500  # the trades table's length; trades.csv has them all
CHARTS_ID = "charts"
EPOCH = datetime(1970, 1, 1)

STYLE = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 1.5em;
       color: #222; max-width: 1200px; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.6em 0 .5em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .2em .7em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th.text, td.text { text-align: left; }
.sub { color: #666; margin: 0 0 1em; } .neg { color: #b00; } .pos { color: #070; }
"""


def write_html(path: Path, result: RunResult, summary: Mapping[str, Any], trades: Sequence[Trade],
               drawdown: Sequence[float], benchmark: Sequence[float] | None, tz: ZoneInfo) -> None:
    """Write the page: `summary` is summary.json's content, `drawdown` the fall from the peak at
    each step (a fraction), `benchmark` the buy-and-hold curve at each step (None: none)."""
    from bokeh.resources import Resources

    js = "".join(Resources(mode="inline", components=["bokeh"], minified=True, log_level="warn").js_raw)
    item = _charts(result, trades, drawdown, benchmark, tz)
    data = json.dumps(item, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    title = f"{result.session_name}: {result.first_day} to {result.last_day}"
    page = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} ({_e(result.mode)} report)</title>", f"<style>{STYLE}</style>",
        f"<script>{js}</script>", "</head>", "<body>", f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(result.mode)} report, times in {_e(tz.key)}</p>',
        _key_figures(summary), "<h2>Per strategy and symbol</h2>", _performance_table(summary),
        "<h2>Equity, drawdown and prices</h2>", f'<div id="{CHARTS_ID}"></div>',
        _skipped(summary), _refusals(summary), _trades_table(trades, tz),
        f'<script type="application/json" id="{CHARTS_ID}-data">{data}</script>',
        f'<script>Bokeh.embed.embed_item(JSON.parse(document.getElementById("{CHARTS_ID}-data").textContent),'
        f' "{CHARTS_ID}");</script>',
        "</body>", "</html>", "",
    ]
    path.write_text("\n".join(page), encoding="utf-8")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1, signed: int = -1) -> str:
    def cell(tag: str, i: int, value: str) -> str:
        classes = ["text"] if i < text_columns else []
        if i == signed and value.startswith("-") and value != "-":
            classes.append("neg")
        attr = f' class="{" ".join(classes)}"' if classes else ""
        return f"<{tag}{attr}>{_e(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _key_figures(s: Mapping[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:+.2%}"

    def share(v: float | None) -> str:
        return "-" if v is None else f"{v:.1%}"

    rows = [
        ("equity", "-" if s.get("final_equity") is None else
         f"{s['initial_equity']:,.2f} → "
         f"{final_equity_shown(s['initial_equity'], s['final_equity'], s.get('performance')):,.2f}"),
        ("return", pct(s.get("total_return"))),
        ("Sharpe (daily, √252)", "-" if s.get("sharpe") is None else f"{s['sharpe']:.2f}"),
        ("max drawdown", "-" if s.get("max_drawdown") is None else f"{s['max_drawdown']:.2%}"),
        ("trades", str(s.get("trades", "-"))),
        ("P(mean day > 0)", share(s.get("p_positive_edge"))),
        ("deflated Sharpe", share(s.get("deflated_sharpe"))),
        ("win rate, 95% interval", "-" if s.get("win_rate_low") is None else
         f"{share(s.get('win_rate'))} ({share(s['win_rate_low'])} to {share(s.get('win_rate_high'))})"),
        ("sessions", f"{s.get('sessions', 0)} ({len(s.get('sessions_skipped', []))} skipped)"),
        ("orders / fills", f"{s.get('orders', 0)} / {s.get('fills', 0)}"),
    ]
    bench = (s.get("performance") or {}).get("buy_and_hold")
    if bench is not None:
        rows.insert(2, ("buy & hold return", pct(bench["return"])))
    return _table(("figure", "value"), rows, text_columns=1)


def _performance_table(s: Mapping[str, Any]) -> str:
    if s.get("performance") is None:
        return "<p>No figures.</p>"
    header, *rows = table_cells(s["performance"])
    return _table(header, rows, text_columns=2, signed=4)


def _skipped(s: Mapping[str, Any]) -> str:
    skipped = s.get("sessions_skipped") or []
    if not skipped:
        return ""
    return "<h2>Skipped sessions</h2>" + _table(("date", "reason"), [(d["date"], d["reason"]) for d in skipped],
                                                text_columns=2)


def _refusals(s: Mapping[str, Any]) -> str:
    risk = s.get("risk") or {}
    counts = [(check, str(n)) for check, n in (risk.get("refusals") or {}).items() if n]
    halts = risk.get("loss_halts") or []
    if not counts and not halts:
        return ""
    out = "<h2>Risk</h2>"
    if counts:
        out += _table(("check", "orders refused"), counts)
    if halts:
        out += _table(("time", "loss", "limit"), [(h["time"], f"{h['loss']:,.2f}", f"{h['limit']:,.2f}")
                                                  for h in halts])
    return out


def _trades_table(trades: Sequence[Trade], tz: ZoneInfo) -> str:
    if not trades:
        return "<h2>Trades</h2><p>No closed trades.</p>"
    shown = trades[:TRADE_ROWS]
    note = "" if len(trades) <= TRADE_ROWS else f"<p>The first {TRADE_ROWS} of {len(trades)}: trades.csv has all.</p>"
    rows = [(t.strategy, t.symbol, "long" if t.direction > 0 else "short", str(t.quantity),
             _time(t.entry_utc, tz), f"{t.entry_price:,.4f}".rstrip("0").rstrip("."), _time(t.exit_utc, tz),
             f"{t.exit_price:,.4f}".rstrip("0").rstrip("."), f"{t.pnl:+,.2f}") for t in shown]
    header = ("strategy", "symbol", "side", "shares", "entry", "price", "exit", "price", "P&L")
    return f"<h2>Trades</h2>{note}" + _table(header, rows, text_columns=3, signed=8)


def _time(ts: datetime, tz: ZoneInfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# The x axis is the step number (nights and weekends take no room); its labels come from runs of
# consecutive minutes: [first step, its time in ms] pairs, so a label is exact wherever it falls.
TICK_CODE = """
if (runs.length === 0) return "";
const i = Math.max(0, Math.floor(tick));
let lo = 0, hi = runs.length - 1;
while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (runs[mid][0] <= i) lo = mid; else hi = mid - 1; }
const text = new Date(runs[lo][1] + (i - runs[lo][0]) * 60000).toISOString();
const spacing = ticks.length > 1 ? ticks[1] - ticks[0] : 0;
return spacing >= 390 ? text.slice(0, 10) : text.slice(5, 10) + " " + text.slice(11, 16);
"""


def _ms(ts: datetime, tz: ZoneInfo) -> float:
    return (ts.astimezone(tz).replace(tzinfo=None) - EPOCH).total_seconds() * 1000


def _minute_runs(step_ends_us: np.ndarray, tz: ZoneInfo) -> list[list[float]]:
    firsts = np.flatnonzero(np.diff(step_ends_us, prepend=step_ends_us[:1] - 1) != US_PER_MINUTE)
    return [[i, _ms(to_datetime(int(step_ends_us[i])), tz)] for i in firsts.tolist()]


def _charts(result: RunResult, trades: Sequence[Trade], drawdown: Sequence[float],
            benchmark: Sequence[float] | None, tz: ZoneInfo) -> dict[str, Any]:
    import numpy as np
    from bokeh.embed import json_item
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, CustomJSTickFormatter, DataRange1d, HoverTool, NumeralTickFormatter
    from bokeh.plotting import figure

    columns = curve_columns(result.equity)
    ends = columns.ts_us
    runs = _minute_runs(ends, tz)
    columns_later: dict[str, list[Any]] = {}  # the trade markers' columns, placed after serialization
    tools = "xpan,xwheel_zoom,box_zoom,reset,save"

    def chart(title: str, height: int, **kwargs: Any) -> Any:
        fig = figure(title=title, height=height, sizing_mode="stretch_width", tools=tools, active_drag="xpan",
                     active_scroll="xwheel_zoom", y_range=DataRange1d(only_visible=True), **kwargs)
        fig.toolbar.logo = None
        fig.xaxis.formatter = CustomJSTickFormatter(args={"runs": runs}, code=TICK_CODE)
        return fig

    def thinned(ys: np.ndarray) -> tuple[Any, Any]:
        keep = decimate(ys, BUCKETS)  # float64 arrays travel as base64, half the size of JSON numbers
        return np.array(keep, dtype=np.float64), np.asarray(ys, dtype=np.float64)[keep]

    equity = chart("equity", 300)
    equity.yaxis.formatter = NumeralTickFormatter(format="$0,0")
    xs, ys = thinned(columns.equity)
    equity.line(xs, ys, line_width=1.5, color="#1f77b4", legend_label="equity")
    if benchmark is not None and len(benchmark) == len(ends):
        xs, ys = thinned(np.asarray(benchmark, dtype=np.float64))
        equity.line(xs, ys, line_width=1, color="#7f7f7f", legend_label="buy & hold")
    equity.legend.location = "top_left"
    equity.legend.click_policy = "hide"
    figures = [equity]
    fall = chart("drawdown", 150, x_range=equity.x_range)
    fall.yaxis.formatter = NumeralTickFormatter(format="0.00[00]%")
    xs, ys = thinned(-np.asarray(drawdown, dtype=np.float64))
    fall.varea(x=xs, y1=0.0, y2=ys, color="#d62728", alpha=0.6)
    figures.append(fall)
    for series in result.closes:
        prices = price_array(series.closes)
        at = np.flatnonzero(~np.isnan(prices))
        if not len(at):
            continue
        price = chart(f"{series.symbol}: price and trades", 260, x_range=equity.x_range)
        price.yaxis.formatter = NumeralTickFormatter(format="$0,0.00")
        keep = decimate(prices[at], BUCKETS)
        price.line(at[keep].astype(np.float64), prices[at][keep], color="#444", line_width=1)
        own = [t for t in trades if t.symbol == series.symbol]
        markers = []
        for end, marker, data in zip(("entry", "exit"), ("triangle", "inverted_triangle"),
                                     _trade_marks(own, ends, tz), strict=True):
            source = ColumnDataSource(_placeholders(data, columns_later))
            markers.append(price.scatter("x", "y", source=source, marker=marker, size=9, color="color",
                                         line_color="#222", line_width=0.5, legend_label=end))
        price.add_tools(HoverTool(renderers=markers, tooltips=[
            ("", "@what"), ("strategy", "@strategy"), ("entry", "@entry"), ("exit", "@exit"), ("P&L", "@pnl")]))
        price.legend.location = "top_left"
        price.legend.click_policy = "hide"
        figures.append(price)
    return _filled(_renumbered(json_item(column(*figures, sizing_mode="stretch_width"), target=CHARTS_ID)),
                   columns_later)


def _trade_marks(trades: Sequence[Trade], step_ends: np.ndarray,
                 tz: ZoneInfo) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The columns of the entry markers and of the exit markers (their hover texts are shared)."""
    entry_us = np.array([to_us(t.entry_utc) for t in trades], dtype=np.int64)
    exit_us = np.array([to_us(t.exit_utc) for t in trades], dtype=np.int64)
    texts = {
        "color": ["#2ca02c" if t.pnl > 0 else "#d62728" for t in trades],
        "what": [f"{'long' if t.direction > 0 else 'short'} {t.quantity} {t.symbol}" for t in trades],
        "strategy": [t.strategy for t in trades],
        "entry": [f"{when} at {t.entry_price:,.4f}".rstrip("0").rstrip(".")
                  for when, t in zip(_minutes(entry_us, tz), trades, strict=True)],
        "exit": [f"{when} at {t.exit_price:,.4f}".rstrip("0").rstrip(".")
                 for when, t in zip(_minutes(exit_us, tz), trades, strict=True)],
        "pnl": [f"{t.pnl:+,.2f}" for t in trades],
    }

    def marks(at: np.ndarray, prices: list[float]) -> dict[str, list[Any]]:
        # the point of the step ending at or after the fill
        steps = np.minimum(np.searchsorted(step_ends, at, side="left"), max(len(step_ends) - 1, 0))
        return {"x": steps.astype(np.float64).tolist(), "y": prices, **texts}

    return (marks(entry_us, [t.entry_price for t in trades]), marks(exit_us, [t.exit_price for t in trades]))


def _minutes(ts_us: np.ndarray, tz: ZoneInfo) -> list[str]:
    """`_time` of each instant ("%Y-%m-%d %H:%M" in `tz`), made by numpy."""
    wall = local_wall_us(ts_us, local_offsets(ts_us, tz)).astype("datetime64[us]")
    return [text.replace("T", " ") for text in np.datetime_as_string(wall, unit="m").tolist()]


def _placeholders(data: dict[str, list[Any]], later: dict[str, list[Any]]) -> dict[str, list[str]]:
    """`data` with each column replaced by a one-item list naming it in `later`: bokeh serializes
    a list item by item (tens of thousands of markers took it seconds), while the column's JSON
    is the list itself, so `_filled` puts the columns in place after serialization."""
    out = {}
    for name, values in data.items():
        key = f"\x00column {len(later)}"
        later[key] = values
        out[name] = [key]
    return out


def _filled(item: dict[str, Any], later: dict[str, list[Any]]) -> dict[str, Any]:
    """The document with every placeholder column of `_placeholders` replaced by its values."""
    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):  # bokeh's map entries are (key, value) tuples
            if len(node) == 1 and isinstance(node[0], str) and node[0] in later:
                return later[node[0]]
            return [fill(v) for v in node]
        return node

    return fill(item)


def _renumbered(item: dict[str, Any]) -> dict[str, Any]:
    """The same document with its model ids replaced by r1, r2, ... in order of appearance."""
    ids: dict[str, str] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and isinstance(node.get("id"), str):
                ids.setdefault(node["id"], f"r{len(ids) + 1}")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    def rename(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: ids.get(v, v) if k in ("id", "root_id") and isinstance(v, str) else rename(v)
                    for k, v in node.items()}
        if isinstance(node, list):
            return [rename(v) for v in node]
        return node

    collect(item)
    unknown = {item.get("root_id")} - set(ids) - {None}
    if unknown:
        raise ValueError(f"bokeh document refers to ids it does not define: {sorted(unknown)}")
    return rename(item)
