"""How mismarterctl shows a result to a person: tables for lists and records, text as is."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["render"]


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
    for key, value in record.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            nested.append((key, value))
        else:
            table.add_row(key, _cell(value))
    console.print(table)
    for key, rows in nested:
        console.print(f"\n{key}:")
        _rows(rows, console)
