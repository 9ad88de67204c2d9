"""`mismarterad backtest` on the bundled real data, checked against an independent sma_cross."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from mismarterad.services.probability_engine import wilson_interval

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "mismarterad" / "sample_data"
CONFIG = REPO / "session_configs" / "spy_2011_backtest.json"


def reference_sma_cross_trades(path: Path, first: str, last: str, fast: int, slow: int, qty: int) -> list[list[str]]:
    """sma_cross written from its specification alone, on the regular-session 1m closes."""
    df = pd.read_csv(path, dtype={"open": str, "close": str})
    df["ts"] = pd.to_datetime(df["timestamp"], utc=True).dt.tz_convert("America/New_York")
    df = df[(df["ts"].dt.strftime("%H:%M") >= "09:30") & (df["ts"].dt.strftime("%H:%M") < "16:00")]
    df = df[(df["ts"].dt.date >= pd.Timestamp(first).date()) & (df["ts"].dt.date <= pd.Timestamp(last).date())]
    closes = [Decimal(c) for c in df["close"]]
    signs: list[int | None] = []
    for i in range(len(closes)):
        if i + 1 < slow:
            signs.append(None)
            continue
        f = sum(closes[i + 1 - fast : i + 1]) * slow
        s = sum(closes[i + 1 - slow : i + 1]) * fast
        signs.append((f > s) - (f < s))
    rows = df.reset_index(drop=True)
    trades, position, entry = [], 0, None
    pending: str | None = None  # the order made at the previous bar, filled at this bar's open
    for i in range(len(rows)):
        day = rows.loc[i, "ts"].date()
        last_of_day = i + 1 == len(rows) or rows.loc[i + 1, "ts"].date() != day
        if pending is not None:
            price = rows.loc[i, "open"]
            if pending == "buy":
                position, entry = qty, (rows.loc[i, "ts"], price)
            else:
                trades.append((entry, (rows.loc[i, "ts"], price)))
                position, entry = 0, None
        pending = None
        sign, prev = signs[i], signs[i - 1] if i > 0 else None
        if not last_of_day and sign is not None and prev is not None:
            if sign > 0 and prev <= 0 and position == 0:
                pending = "buy"
            elif sign < 0 and prev >= 0 and position > 0:
                pending = "sell"
        if last_of_day and position > 0:
            close_ts = rows.loc[i, "ts"] + pd.Timedelta(minutes=1)
            trades.append((entry, (close_ts, rows.loc[i, "close"])))
            position, entry = 0, None
    out = []
    for (entry_ts, entry_px), (exit_ts, exit_px) in trades:
        pnl = (Decimal(exit_px) - Decimal(entry_px)) * qty
        out.append(["SPY", entry_ts.isoformat(), Decimal(entry_px), exit_ts.isoformat(), Decimal(exit_px), qty, pnl])
    return out



@pytest.fixture
def spy_january(mismarterad) -> None:  # type: ignore[no-untyped-def]
    result = mismarterad("data", "import", str(SAMPLE / "spy_1min_2011-01_ext_ninjatrader.csv"), "--symbol", "SPY")
    assert result.returncode == 0, result.stderr


def _trades(path: Path) -> list[list[object]]:
    with path.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["symbol", "entry_time", "entry_price", "exit_time", "exit_price", "quantity", "pnl", "strategy"]
    assert len(rows) > 1 and {r[7] for r in rows[1:]} == {"sma_cross#0"}
    return [[r[0], r[1], Decimal(r[2]), r[3], Decimal(r[4]), int(r[5]), Decimal(r[6])] for r in rows[1:]]


@pytest.mark.slow
def test_sma_cross_trades_equal_an_independent_implementation(mismarterad, spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report"
    result = mismarterad("backtest", str(CONFIG), "--from", "2011-01-03", "--to", "2011-01-31", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    got = _trades(out / "trades.csv")
    expected = reference_sma_cross_trades(SAMPLE / "spy_1min_2011-01_ext_ninjatrader.csv", "2011-01-03",
                                          "2011-01-31", 10, 30, 100)
    assert len(got) == len(expected) > 20
    for g, e in zip(got, expected, strict=True):
        assert g[:6] == e[:6]
        assert abs(g[6] - e[6]) < Decimal("0.0001")


@pytest.mark.slow
def test_two_runs_give_byte_identical_reports(mismarterad, spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        result = mismarterad("backtest", str(CONFIG), "--from", "2011-01-03", "--to", "2011-01-14", "--out", str(out))
        assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == ["equity.csv", "equity.png", "orders.csv", "report.html", "risk.csv", "run.json", "summary.json",
                     "trades.csv", "validation.csv"]
    for name in names:
        if name != "run.json":
            assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["bars_processed"] == 10 * 390


def test_day_without_data_is_skipped_and_reported(mismarterad, spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r"
    result = mismarterad("backtest", str(CONFIG), "--from", "2011-01-28", "--to", "2011-02-01", "--out", str(out))
    assert result.returncode == 0, result.stderr
    validation = (out / "validation.csv").read_text()
    assert "2011-01-31" in validation
    assert "2011-02-01" in validation and "skipped" in validation


def test_strategy_that_raises_stops_cleanly_without_a_report(mismarterad, spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "boom.py").write_text(
        "from mismarterad.strategies import Strategy\n"
        "class Boom(Strategy):\n"
        "    def on_bar(self, symbol, interval, bar):\n"
        "        if bar.start_utc.minute == 45:\n"
        "            raise RuntimeError('kaboom')\n"
    )
    config = json.loads(CONFIG.read_text())
    config["strategies"] = [{"file": "boom.py", "class": "Boom"}]
    path = tmp_path / "boom.json"
    path.write_text(json.dumps(config))
    out = tmp_path / "r"
    result = mismarterad("backtest", str(path), "--from", "2011-01-03", "--to", "2011-01-04", "--out", str(out),
                         timeout=60)
    assert result.returncode == 1
    assert "strategy Boom#0 raised in on_bar on SPY 1m bar 2011-01-03T" in result.stderr
    assert "kaboom" in result.stderr
    assert not out.exists()


def test_unknown_strategy_or_param_exits_78(mismarterad, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = json.loads(CONFIG.read_text())
    config["strategies"] = [{"name": "sma_crosss"}, {"name": "sma_cross", "params": {"fast": 40, "slowness": 3}}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    result = mismarterad("backtest", str(path), "--out", str(tmp_path / "r"))
    assert result.returncode == 78
    assert "strategies[0].name: unknown strategy 'sma_crosss'" in result.stderr
    assert "strategies[1].params.slowness: unknown key" in result.stderr
    check = mismarterad("config", "check", str(path))
    assert check.returncode == 78 and "strategies[1].params.slowness" in check.stdout


def test_the_summary_table_fits_80_columns_and_shows_summary_json(mismarterad, spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r"
    result = mismarterad("backtest", str(CONFIG), "--from", "2011-01-03", "--to", "2011-01-05", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines[:-1]), lines  # all but the report's path
    summary = json.loads((out / "summary.json").read_text())
    assert lines[:3] == ["SPY January 2011 backtest: 2011-01-03 to 2011-01-05",
                         f"3 sessions (0 skipped), 1,170 bars, {summary['fills']} fills",
                         f"equity 1,000,000.00 -> {summary['final_equity']:,.2f} ({summary['total_return']:+.2%})"]
    performance = summary["performance"]
    [row] = performance["rows"]
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["strategy", "symbol"])
    assert lines[header].split() == ["strategy", "symbol", "trades", "win%", "P&L", "PF", "max", "DD", "exposure"]
    strategy = lines[header + 1].split()
    assert strategy[:3] == ["sma_cross#0", "SPY", str(row["trades"])]
    assert strategy[4] == f"{row['pnl']:+,.2f}" and strategy[7] == f"{row['exposure']:.1%}"
    account = lines[header + 2].split()
    assert account[:2] == ["account", "all"] and account[4] == f"{performance['account']['pnl']:+,.2f}"
    bench = lines[header + 3]
    assert bench.startswith("buy & hold") and f"{performance['buy_and_hold']['pnl']:+,.2f}" in bench
    # the probability engine's line: summary.json's figures, the win rate's interval from trades.csv
    pnls = [float(t["pnl"]) for t in csv.DictReader((out / "trades.csv").open())]
    low, high = wilson_interval(sum(1 for p in pnls if p > 0), len(pnls))
    assert (summary["win_rate_low"], summary["win_rate_high"]) == (round(low, 10), round(high, 10))
    assert 0 <= summary["p_positive_edge"] <= 1 and 0 <= summary["deflated_sharpe"] <= 1
    assert lines[header + 4] == (f"P(mean day > 0) {summary['p_positive_edge']:.1%}, deflated Sharpe "
                                 f"{summary['deflated_sharpe']:.1%}, win rate 95% CI {low:.1%}-{high:.1%}")
    assert lines[-1] == f"report: {out}"


def test_a_backtest_in_which_no_session_ran_exits_65_without_a_report(mismarterad, spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r"
    result = mismarterad("backtest", str(CONFIG), "--from", "2011-02-01", "--to", "2011-02-03", "--out", str(out))
    assert result.returncode == 65
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "mismarterad: the backtest ran no session: all 3 trading days of 2011-02-01 to 2011-02-03 were skipped: "
        "no 1m bars in the store for any symbol (3 days); no report written")
    assert not out.exists() and not any(tmp_path.glob(".r.*"))  # nor a staging folder


@pytest.mark.slow
def test_log_lines_never_break_the_progress_bar(cli_env, spy_january, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On a terminal (a pseudo-terminal replayed into a terminal emulator), every log line printed
    while the bar is shown starts its own line, and the bar leaves no remains."""
    import pyte

    columns = 100
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 1000, columns, 0, 0))
    env = {**cli_env, "TERM": "xterm-256color"}
    env.pop("COLUMNS", None), env.pop("LINES", None)
    exe = shutil.which("mismarterad", path=str(Path(sys.executable).parent))
    assert exe is not None
    proc = subprocess.Popen([exe, "backtest", str(CONFIG), "--from", "2011-01-03", "--to", "2011-01-07", "--out",
                             str(tmp_path / "r")], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the command ended and closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    raw = b"".join(chunks).decode()
    assert "━" in raw and "day " in raw and "bars/s" in raw  # the bar was drawn
    screen = pyte.Screen(columns, 1000)
    pyte.Stream(screen).feed(raw)
    lines = [line.rstrip() for line in screen.display if line.strip()]
    log_start = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z \[")
    logs = [line for line in lines if log_start.search(line)]
    assert len(logs) > 10, lines
    broken = [line for line in logs if not log_start.match(line)] + [line for line in lines if "━" in line]
    assert not broken, "\n".join(broken)
    assert any("backtest_finished" in line for line in logs)
    assert any(line.startswith("account ") for line in lines) and lines[-1].startswith("report: ")
