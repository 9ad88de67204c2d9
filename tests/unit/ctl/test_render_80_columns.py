"""mismarterctl's tables and records in an 80-column terminal, on a real daemon's replies
(daemon_replies.json, recorded by `python -m support.ctl_replies`: a replayed day of three symbols
and two strategies with commissions, mid-session, after the close and after the report) and on
the awkward cases a snapshot can hold (halts, long reasons, open reconciliation differences)."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from support.daemon_snapshots import HALT, OPEN, RECONCILED, daemon_snapshot, pipeline_snapshot, trading_snapshot

from mismarterad.cli.control_api import ControlApi
from mismarterad.core.orders import Order, OrderRequest, OrderStatus, OrderType, RejectCategory, Side
from mismarterad.core.read_model import StrategyPosition
from mismarterad.ctl.render import HEADERS, flatten, render

REPLIES = json.loads((Path(__file__).parent / "daemon_replies.json").read_text())
CASES = [(f"{phase} {command}", result) for phase, replies in REPLIES.items() for command, result in replies.items()]


def shown(result: Any, width: int = 80) -> str:
    out = io.StringIO()
    render(result, Console(file=out, width=width, highlight=False))
    return out.getvalue()


def _rows_are_whole(text: str, rows: list[dict[str, Any]]) -> None:
    """Each row is one line of a table, or one block with every value it has on its own line."""
    lines = text.splitlines()
    if lines[0].startswith("-- 1 of "):
        blocks = [i for i, line in enumerate(lines) if re.fullmatch(r"-- \d+ of \d+ --", line)]
        assert len(blocks) == len(rows)
        for start, row in zip(blocks, rows, strict=True):
            block = lines[start + 1:start + 1 + len(row)]
            for key, value in row.items():
                label = HEADERS.get(key, key.replace("_", " "))
                if value is not None:
                    assert any(re.match(rf"{re.escape(label)}\s+\S", line) for line in block), (key, block)
        return
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    body = lines[rule + 1:rule + 1 + len(rows)]
    assert len(body) == len(rows) and all(line.strip() for line in body)
    assert rule + 1 + len(rows) == len(lines) or not lines[rule + 1 + len(rows)].startswith(" ")  # no wrapped row


@pytest.mark.parametrize("name, result", CASES, ids=[name for name, _ in CASES])
def test_every_reply_of_a_real_day_fits_80_columns_whole(name: str, result: Any) -> None:
    text = shown(result)
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text, "nothing cut short"
    if isinstance(result, list) and result:
        _rows_are_whole(text, result)
    if isinstance(result, dict):
        pairs, _ = flatten({k: v for k, v in result.items() if k != "reconciliation"})
        starts = [line.split()[0] for line in text.splitlines() if line.strip()]
        for key, _value in pairs:
            assert key in starts, f"{key} has a line of its own"
        assert not re.search(r"\w=[^=\s]+, \w+=", text), "no one-line k=v, k=v blob"


def test_config_is_a_two_column_table_of_dotted_keys() -> None:
    text = shown(REPLIES["midday"]["config"])
    lines = text.splitlines()
    assert any(re.fullmatch(r"daemon\.risk\.daily_loss_limit\s+-", line) for line in lines)
    assert any(re.fullmatch(r"session\.strategies\[1\]\.params\.fast\s+5", line) for line in lines)
    assert any(re.fullmatch(r"session\.session_data_config\.symbols\s+AAPL, GOOGL, TSLA", line) for line in lines)
    # a key too long for the key column has its own line, its value below in the value column
    long_key = "session.session_data_config.historical.data[1].trailing_days"
    at = lines.index(long_key)
    column = lines[0].index("/")  # where the values start
    assert lines[at + 1] == " " * column + "10"


def test_a_report_shows_its_strategies_as_a_table_and_wraps_a_long_path_at_a_slash() -> None:
    report = REPLIES["evening"]["report 2023-05-25"]
    text = shown(report)
    assert "summary.strategies:" in text
    assert re.search(r"^sma_cross#1\s+10\s+0\.5\s+62\.2\s+20\s+20$", text, re.M)
    path_lines = [line.strip() for line in text.splitlines()[:3]]
    assert "".join(path_lines[0].split()[1:] + path_lines[1:2]) == report["path"]
    assert path_lines[0].endswith("/")


def test_a_one_day_table_shows_clock_times_and_says_the_day_once() -> None:
    text = shown(REPLIES["close"]["trades"], width=120)
    assert "times: 2023-05-25, UTC-04:00" in text and "2023-05-25T" not in text
    assert re.search(r"^sma_cross#1\s+TSLA\s+10:01:00\s+183\.83\s+10:05:00\s+182\.88\s+30\s+-30\.5$", text, re.M)


def test_too_wide_tables_shorten_shared_parts_before_falling_back_to_blocks() -> None:
    orders = REPLIES["midday"]["orders"]  # one strategy and symbol so far
    text = shown(orders)
    assert "-- 1 of" not in text, "shortened, it fits"
    assert "order ids begin 20230525-00514f-sma_cross_1.7d1eae-TSLA-" in text
    assert re.search(r"every row: strategy sma_cross#1, symbol TSLA", text)
    assert re.search(r"^o0001\s+buy\s+10:01:00\s+10:01:00\s+183\.83$", text, re.M)
    wide = shown(orders, width=200)  # nothing to shorten where it fits as it is
    assert "20230525-00514f-sma_cross_1.7d1eae-TSLA-o0001" in wide and "every row" not in wide


def test_json_keeps_every_field_the_table_leaves_out() -> None:
    orders = REPLIES["close"]["orders"]
    assert all("limit_price" in o for o in orders)  # the reply itself is untouched
    assert "limit" not in shown(orders, width=400).splitlines()[0].split()  # never set: no column


def test_the_pnl_table_has_one_row_per_strategy_and_a_total() -> None:
    text = shown(REPLIES["midday"]["pnl"])
    assert re.search(r"^strategy\s+realized\s+unrealized\s+total\s+fees\s+trades$", text, re.M)
    assert re.search(r"^total\s+-30\.5\s+\S+\s+\S+\s+3\s+1$", text, re.M)


def test_awkward_snapshots_fit_too() -> None:
    """A 200-character halt reason, open reconciliation differences, a long rejection, a
    position of two owners: through the real ControlApi, every command's answer fits."""
    trading = trading_snapshot()
    refused = Order(OrderRequest("20110104-9f3a1c-a_very_long_strat.0a1b2c-SPY-o0004", "SPY", Side.BUY, 100_000,
                                 OrderType.LIMIT, 127.25, None, OPEN + timedelta(minutes=8), "a#0"),
                    OrderStatus.REJECTED, reason="insufficient buying power: the order needs 12,725,000.00 USD and "
                                                 "the account has 10,513.00 USD of buying power left",
                    reject_category=RejectCategory.INSUFFICIENT_FUNDS)
    trading = replace(trading, orders=(*trading.orders, refused), reconciliation=RECONCILED,
                      strategy_positions=(StrategyPosition("b#1", "SPY", 4), StrategyPosition("(account)", "SPY", 1)))
    halt = replace(HALT, reason="x" * 200)
    snapshot = daemon_snapshot(replace(pipeline_snapshot(), trading=trading), halted=halt)
    api = ControlApi(SimpleNamespace(snapshot=lambda: snapshot))  # type: ignore[arg-type]
    for command in ("status", "threads", "session", "positions", "orders", "trades", "quality", "pnl", "config"):
        text = shown(api.handle(command, {}))
        assert max(len(line) for line in text.splitlines()) <= 80, (command, text)
        assert "…" not in text
    status = shown(api.handle("status", {}))
    assert "x" * 50 in status and "reconciliation: 3 checks, 2 open differences (policy halt):" in status
    assert "b#1=4 (account)=1" in shown(api.handle("positions", {}))
