"""How mismarterctl shows a result to a person: tables for lists, key/value lines for records.

Records (status, config, report) are flattened into dotted keys (`daemon.risk.max_position_usd`,
`session.strategies[0].params.fast`) beside their values; a top-level list of flat records
(session's strategies, pnl's rows) follows as its own table. Tables fit the console
(`mismarterad.ctl.tables`): friendlier headers, no all-empty columns, and times of one day
shown as clock times with the day said once below.
"""

from __future__ import annotations

import os
import re
from typing import Any

from rich.console import Console

from mismarterad.ctl.tables import least_width, print_pairs, print_table, print_wrapped

__all__ = ["flatten", "reconciliation_lines", "render"]

HEADERS = {  # a row table's header for a JSON key; other keys lose their underscores
    "client_order_id": "order id", "quantity": "qty", "avg_fill_price": "fill price", "submitted_time": "submitted",
    "filled_time": "filled", "limit_price": "limit", "stop_price": "stop", "reject_category": "reject",
    "last_loop_age_seconds": "idle s", "queue_depth": "queue", "items_processed": "items", "quality_pct": "quality %",
    "entry_time": "entry at", "entry_price": "entry", "exit_time": "exit at", "exit_price": "exit",
    "regular_open": "open", "regular_close": "close",
}
MIN_PREFIX = 8  # a shared beginning shorter than this is not worth a note
_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:\d\d|Z)$")


def render(result: Any, console: Console) -> None:
    if isinstance(result, str):
        console.print(result, markup=False, highlight=False)
    elif isinstance(result, list):
        _rows(result, console)
    elif isinstance(result, dict):
        _record(result, console)
    else:
        console.print(str(result), markup=False, highlight=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _rows(rows: list[Any], console: Console) -> None:
    if not rows:
        console.print("(none)")
        return
    if not all(isinstance(r, dict) for r in rows):
        for r in rows:
            console.print(_cell(r), markup=False, highlight=False)
        return
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    columns = [c for c in columns if any(r.get(c) not in (None, "", [], {}) for r in rows)]  # JSON keeps them all
    headers = [HEADERS.get(c, c.replace("_", " ")) for c in columns]
    cells, said = _clock_times([[_cell(r.get(c)) for c in columns] for r in rows])
    shown = headers, cells, [said] if said else []
    for compact in (_common_prefixes, _constant_columns):  # only as far as needed to fit
        if least_width(shown[0], shown[1]) <= console.width:
            break
        fewer, shorter, notes = compact(shown[0], shown[1])
        shown = fewer, shorter, shown[2] + notes
    if least_width(shown[0], shown[1]) > console.width:  # a block per row then, every field as it is
        shown = headers, cells, [said] if said else []
    print_table(console, shown[0], shown[1], caption="\n".join(shown[2]) or None)


def _common_prefixes(headers: list[str], cells: list[list[str]]) -> tuple[list[str], list[list[str]], list[str]]:
    """Ids that all begin alike (an order id's day and session tag) are shown without it."""
    notes, cuts = [], []
    for i, header in enumerate(headers):
        values = [row[i] for row in cells]
        cut = os.path.commonprefix(values).rfind("-") + 1  # up to a separator, and never a whole value
        if len(values) > 1 and cut >= MIN_PREFIX and all(len(v) > cut for v in values):
            notes.append(f"{header}s begin {values[0][:cut]}")
            cuts.append(cut)
        else:
            cuts.append(0)
    return headers, [[v[cut:] for v, cut in zip(row, cuts, strict=True)] for row in cells], notes


def _constant_columns(headers: list[str], cells: list[list[str]]) -> tuple[list[str], list[list[str]], list[str]]:
    """A column with one value in every row (one symbol, one strategy) is said once, below."""
    same = [i for i in range(len(headers)) if len(cells) > 1 and len({row[i] for row in cells}) == 1]
    if len(same) == len(headers):
        return headers, cells, []
    notes = [f"every row: {', '.join(f'{headers[i]} {cells[0][i]}' for i in same)}"] if same else []
    keep = [i for i in range(len(headers)) if i not in same]
    return [headers[i] for i in keep], [[row[i] for i in keep] for row in cells], notes


def _clock_times(cells: list[list[str]]) -> tuple[list[list[str]], str | None]:
    """ISO times that share their UTC offset (and their day) lose it; the caption says it once."""
    found = {(m.group(1), m.group(4)) for row in cells for v in row if (m := _TIME.match(v))}
    if len({offset for _, offset in found}) != 1:
        return cells, None
    [offset] = {offset for _, offset in found}
    one_day = len(found) == 1

    def short(v: str) -> str:
        m = _TIME.match(v)
        if m is None:
            return v
        clock = m.group(2) + (m.group(3) or "")
        return clock if one_day else f"{m.group(1)} {clock}"

    zone = "UTC" if offset == "Z" else f"UTC{offset}"
    said = f"times: {next(iter(found))[0]}, {zone}" if one_day else f"times: {zone}"
    return [[short(v) for v in row] for row in cells], said


def flatten(value: Any, key: str = "") -> tuple[list[tuple[str, str]], list[tuple[str, list[dict[str, Any]]]]]:
    """(dotted key, text) pairs and (dotted key, rows) tables: nested records by dotted keys,
    records in lists by [index], lists of plain values joined by commas; a list of flat records,
    or a record of them (a summary's strategies), is a table."""
    pairs: list[tuple[str, str]] = []
    tables: list[tuple[str, list[dict[str, Any]]]] = []
    if _flat_records(value):
        tables.append((key, value))
    elif key and isinstance(value, dict) and value and _flat_records(list(value.values())):
        name = key.rsplit(".", 1)[-1]
        tables.append((key, [{name: k, **v} for k, v in value.items()]))
    elif isinstance(value, dict) and value:
        for k, v in value.items():
            more = flatten(v, f"{key}.{k}" if key else str(k))
            pairs += more[0]
            tables += more[1]
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, v in enumerate(value):
            more = flatten(v, f"{key}[{i}]")
            pairs += more[0]
            tables += more[1]
    elif isinstance(value, list | dict):
        pairs.append((key, ", ".join(_cell(v) for v in value) if value else "(none)"))
    else:
        pairs.append((key, _cell(value)))
    return pairs, tables


def _flat_records(value: Any) -> bool:
    return (isinstance(value, list) and bool(value) and all(isinstance(r, dict) for r in value)
            and all(not isinstance(v, dict | list) for r in value for v in r.values()))


def _record(record: dict[str, Any], console: Console) -> None:
    lines: list[str] = []
    if isinstance(record.get("reconciliation"), dict) and "checks" in record["reconciliation"]:
        lines = reconciliation_lines(record["reconciliation"])
        record = {k: v for k, v in record.items() if k != "reconciliation"}
    pairs, tables = flatten(record)
    print_pairs(console, pairs)
    for line in lines:
        print_wrapped(console, line, "bold red" if line.startswith("reconciliation halted") else None)
    for key, rows in tables:
        console.print(f"\n{key}:", markup=False, highlight=False)
        _rows(rows, console)


def reconciliation_lines(r: dict[str, Any]) -> list[str]:
    """Status's reconciliation as sentences, not a cell: an operator must see at a glance that
    the account is clean, or which difference stopped trading and what to do about it."""
    checks = int(r.get("checks") or 0)
    said = f"{checks} check{'' if checks == 1 else 's'}"
    open_ = [m for m in r.get("open") or [] if isinstance(m, dict)]
    if open_:
        lines = [f"reconciliation: {said}, {len(open_)} open difference{'' if len(open_) == 1 else 's'} "
                 f"(policy {r.get('policy')}):"]
        for m in open_:
            order = f" {m['client_order_id']}" if m.get("client_order_id") else ""
            lines.append(f"  {m.get('kind')} {m.get('symbol')}{order}: ours {m.get('ours')}, "
                         f"broker {m.get('broker')} - {m.get('detail')}")
    else:
        found = ", ".join(f"{kind}={n}" for kind, n in (r.get("counts") or {}).items() if n)
        lines = [f"reconciliation: {said}, no open differences (found: {found})" if found
                 else f"reconciliation: {said}, no differences"]
    if r.get("halted"):
        lines.append(f"reconciliation halted trading: {r['halted']}; `mismarterctl resume` after checking the account")
    return lines
