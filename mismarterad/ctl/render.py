"""How mismarterctl shows a result to a person: tables for lists and records, text as is."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["reconciliation_lines", "render"]


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
    if isinstance(value, dict | list):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items()) if isinstance(value, dict) else \
            ", ".join(_cell(v) for v in value)
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
    table = Table(*columns, show_edge=False, pad_edge=False)
    for r in rows:
        table.add_row(*(_cell(r.get(c)) for c in columns))
    console.print(table)


def _record(record: dict[str, Any], console: Console) -> None:
    table = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    nested: list[tuple[str, list[Any]]] = []
    lines: list[str] = []
    for key, value in record.items():
        if key == "reconciliation" and isinstance(value, dict) and "checks" in value:
            lines = reconciliation_lines(value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            nested.append((key, value))
        else:
            table.add_row(key, _cell(value))
    console.print(table)
    for line in lines:
        style = "bold red" if line.startswith("reconciliation halted") else None
        console.print(line, markup=False, highlight=False, style=style)
    for key, rows in nested:
        console.print(f"\n{key}:")
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
