"""report.html, equity.png and the summary table, written from a made-up run: the same bytes every
time (even in one process, where Bokeh's id counter has moved on), nothing fetched, long series
thinned, the table in 80 columns."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mismarterad.core.orders import Fill, Side
from mismarterad.core.run_result import EquityPoint, RunResult, SymbolCloses
from mismarterad.runs.report_html import BUCKETS
from mismarterad.runs.report_plots import step_ticks
from mismarterad.runs.report_table import final_equity_shown, render_table
from mismarterad.runs.reports import REPORT_FILES, write_backtest_report

NY = ZoneInfo("America/New_York")
OPEN = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _result(days: int = 2, minutes: int = 390) -> RunResult:
    ends = [OPEN + timedelta(days=d) + MINUTE * (i + 1) for d in range(days) for i in range(minutes)]
    prices = [100.0 + (i % 97) / 10 - (i % 13) / 7 for i in range(len(ends))]
    fills = (Fill("o1", "SPY", Side.BUY, 100, prices[4], 1.0, ends[4] - MINUTE, "s#0"),
             Fill("o2", "SPY", Side.SELL, 100, prices[30], 1.0, ends[30] - MINUTE, "s#0"))
    cash = [1000.0 if not 4 <= i < 30 else 1000.0 - 100 * prices[4] - 1 for i in range(len(ends))]
    equity = []
    for i, end in enumerate(ends):
        held = 100 if 4 <= i < 30 else 0
        value = cash[i] + held * prices[i] + (100 * (prices[30] - prices[4]) - 2 if i >= 30 else 0)
        equity.append(EquityPoint(end, cash[i], held * prices[i], value, held != 0))
    return RunResult(session_name="made up", mode="backtest", first_day=date(2011, 1, 3),
                     last_day=date(2011, 1, 3) + timedelta(days=days - 1), initial_cash=1000.0, orders=(),
                     fills=fills, equity=tuple(equity), quality=(), bars_processed=len(ends),
                     sessions_run=tuple(date(2011, 1, 3) + timedelta(days=d) for d in range(days)),
                     sessions_skipped=(), closes=(SymbolCloses("SPY", tuple(prices)),))


def test_the_same_run_gives_the_same_bytes_twice_in_one_process(tmp_path: Path) -> None:
    from bokeh.plotting import figure

    first = write_backtest_report(tmp_path / "a", _result(), NY, {"run_id": 1})
    figure()  # Bokeh's process-wide id counter moves on
    second = write_backtest_report(tmp_path / "b", _result(), NY, {"run_id": 1})
    for name in REPORT_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    page = (first / "report.html").read_text()
    assert re.search(r'"id":"p\d+"', page) is None  # Bokeh's own ids were all renumbered


def test_the_page_fetches_nothing_and_holds_the_figures(tmp_path: Path) -> None:
    out = write_backtest_report(tmp_path / "r", _result(), NY, {"run_id": 1})
    from bokeh.resources import Resources

    page = (out / "report.html").read_text()
    library = "".join(Resources(mode="inline", components=["bokeh"], minified=True, log_level="warn").js_raw)
    assert page.count(library) == 1  # inlined once; its own unused icon-font template is not ours to check
    page = page.replace(library, "")
    for fetching in (r"<script[^>]*\bsrc=", r"<link\b", r"<img\b", r"@import", r"@font-face", r"<iframe\b"):
        assert re.search(fetching, page, re.IGNORECASE) is None, fetching
    assert page.count("<script>") == 2 and "Bokeh.embed.embed_item(" in page
    summary = json.loads((out / "summary.json").read_text())
    row = summary["performance"]["rows"][0]
    assert (row["strategy"], row["symbol"], row["trades"]) == ("s#0", "SPY", 1)
    assert f"{row['pnl']:+,.2f}" in page and "buy &amp; hold" in page


def test_long_series_are_thinned(tmp_path: Path) -> None:
    out = write_backtest_report(tmp_path / "r", _result(days=40), NY, {"run_id": 1})  # 15,600 steps
    page = (out / "report.html").read_text()
    data = json.loads(page.split('id="charts-data">', 1)[1].split("</script>", 1)[0])
    lengths = [len(v["shape"] and range(v["shape"][0])) for v in _arrays(data)]
    assert lengths and max(lengths) <= 4 * BUCKETS < 15_600
    assert len(page) < 1_700_000


def _arrays(node: object) -> list[dict]:  # type: ignore[type-arg]
    if isinstance(node, dict):
        return [node] if node.get("type") == "ndarray" else [a for v in node.values() for a in _arrays(v)]
    if isinstance(node, list):
        return [a for v in node for a in _arrays(v)]
    return []


def test_the_table_fits_80_columns_with_long_ids_and_large_amounts() -> None:
    figures = {"trades": 1234, "win_rate": 0.5, "pnl": -12_345_678.9, "gross_profit": 1.0, "gross_loss": 0.0,
               "profit_factor": None, "max_drawdown_usd": 98_765_432.1, "exposure": 1.0}
    performance = {"rows": [{"strategy": "a_very_long_strategy_name_from_a_user#12", "symbol": "GOOGL", **figures}],
                   "account": figures, "buy_and_hold": None}
    lines = render_table(performance).splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[1].startswith("a_very_lo") and "…" in lines[1]
    assert lines[1].split()[-5:] == ["50.0%", "-12,345,678.90", "inf", "98,765,432.10", "100.0%"]
    assert lines[2].startswith("account ")
    empty = {"trades": 0, "win_rate": None, "pnl": 0.0, "gross_profit": 0.0, "gross_loss": 0.0,
             "profit_factor": None, "max_drawdown_usd": 0.0, "exposure": 0.0}
    line = render_table({"rows": [], "account": empty, "buy_and_hold": None}).splitlines()[1]
    assert line.split() == ["account", "all", "0", "-", "+0.00", "-", "0.00", "0.0%"]


def test_equity_png_ticks_are_dates_or_hours() -> None:
    days = [datetime(2011, 1, 3 + d, 9, 31 + i % 29, tzinfo=NY) for d in range(20) for i in range(3)]
    ticks, labels = step_ticks(days)
    assert len(ticks) <= 8 and labels[0] == "2011-01-03" and ticks == sorted(ticks)
    one_day = [datetime(2011, 1, 3, 9, 31, tzinfo=NY) + MINUTE * i for i in range(390)]
    ticks, labels = step_ticks(one_day)
    assert labels[:3] == ["10:00", "11:00", "12:00"] and ticks[:3] == [29, 89, 149]


def test_the_equity_line_and_the_table_state_the_same_cents() -> None:
    """A P&L of 112.325 is +112.33 in the table; the final equity above it says the same cents
    (formatted on its own, 1,000,112.325 reads 1,000,112.32)."""
    performance = {"rows": [], "account": {"trades": 1, "win_rate": 1.0, "pnl": 112.325, "gross_profit": 112.325,
                                           "gross_loss": 0.0, "profit_factor": None, "max_drawdown_usd": 0.0,
                                           "exposure": 0.5}, "buy_and_hold": None}
    assert render_table(performance).splitlines()[1].split()[4] == "+112.33"
    assert f"{final_equity_shown(1_000_000.0, 1_000_112.325, performance):,.2f}" == "1,000,112.33"
    assert final_equity_shown(5.0, 7.5, None) == 7.5, "no table row: the equity itself"


def test_a_kept_account_that_opened_with_nothing_still_gets_its_report(tmp_path: Path) -> None:
    """A paper account can open a day at 0 (or less): the return is undefined, not a crash."""
    bankrupt = replace(_result(days=1, minutes=40), initial_cash=0.0)
    out = write_backtest_report(tmp_path / "r", bankrupt, NY, {})
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_return"] is None and summary["performance"]["account"]["return"] is None
    assert summary["performance"]["buy_and_hold"]["return"] is None
