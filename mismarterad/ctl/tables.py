"""Tables for people that fit the console: a row never wraps into unreadable cells.

Columns of names, numbers and times never wrap; a column of free text (a value with a space:
notes, reasons, gap lists) may wrap inside its own width. When even that does not fit, every row
is shown as a block of `header  value` lines instead (like psql's expanded display). Key/value
records are a two-column grid whose values wrap in the value column. Shared by mismarterctl and
the `mismarterad` commands that print tables (rich only: the CLI's start-up stays light).
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from collections.abc import Collection, Sequence

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["least_width", "output_width", "print_pairs", "print_table", "print_wrapped"]

PIPE_WIDTH = 160  # lines for a pipe or a file: as wide as before, never folded at a terminal's 80
FOLD_MIN = 12  # a free-text column keeps at least this many characters before rows become blocks
SEPARATOR = 2  # two spaces between columns: no box lines, so `awk '{print $2}'` reads a piped table
KEY_SHARE = 0.6  # of the width at most for the keys of a key/value record
VALUE_MIN = 20
_NUMBER = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?%?$")


def output_width() -> int | None:
    """The width to draw for: the terminal's own (None lets rich ask it); for a pipe `$COLUMNS`
    when set, else PIPE_WIDTH."""
    if sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


def _longest_line(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


def _fold(headers: Sequence[str], rows: Sequence[Sequence[str]], fold: Collection[str] | None) -> Collection[str]:
    if fold is not None:
        return fold
    return {h for i, h in enumerate(headers) if any(" " in r[i].strip() for r in rows)}


def least_width(headers: Sequence[str], rows: Sequence[Sequence[str]], fold: Collection[str] | None = None) -> int:
    """The narrowest the table can be drawn without wrapping a rigid cell (`fold` as in print_table)."""
    fold = _fold(headers, rows, fold)
    natural = [max([_longest_line(h), *(_longest_line(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    least = [min(w, max([FOLD_MIN, *(cell_len(word) for word in h.split())])) if h in fold else w
             for h, w in zip(headers, natural, strict=True)]
    return sum(least) + SEPARATOR * (len(headers) - 1)


def print_table(console: Console, headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None,
                caption: str | None = None, fold: Collection[str] | None = None) -> None:
    """Rows of ready-made cells under `headers`. `fold` names the columns that may wrap (None:
    those holding free text); numbers are right-aligned. Too wide for the console even so:
    one block of `header  value` lines per row."""
    fold = _fold(headers, rows, fold)
    if title:
        console.print(title, markup=False, highlight=False, style="bold")
    if least_width(headers, rows, fold) > console.width:
        _print_blocks(console, headers, rows)
    else:
        table = Table(show_edge=False, pad_edge=False, box=box.SIMPLE_HEAD, collapse_padding=True, highlight=False)
        for i, header in enumerate(headers):
            numbers = [r[i] for r in rows if r[i] not in ("", "-")]
            right = bool(numbers) and all(_NUMBER.match(v) for v in numbers)
            table.add_column(header, justify="right" if right else "left", no_wrap=header not in fold,
                             overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    if caption:
        console.print(caption, markup=False, highlight=False, style="dim")


def _print_blocks(console: Console, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    for n, row in enumerate(rows, 1):  # a field without a value ("-") is left out of its block
        console.print(f"-- {n} of {len(rows)} --", markup=False, highlight=False, style="dim")
        print_pairs(console, [(h, v) for h, v in zip(headers, row, strict=True) if v not in ("", "-")], headers)


def print_pairs(console: Console, pairs: Sequence[tuple[str, str]], keys: Sequence[str] | None = None) -> None:
    """`key  value` lines: keys in one column (as wide as the longest of `keys`, by default the
    pairs' own), values wrapped inside the value column. A key too long for its column (over
    KEY_SHARE of the width) has a line of its own, its value below."""
    if not pairs:
        return
    width = console.width
    fitting = [cell_len(k) for k in (keys or [k for k, _ in pairs]) if cell_len(k) <= width * KEY_SHARE]
    indent = (max(fitting) if fitting else 0) + 2
    room = max(width - indent, VALUE_MIN)
    for key, value in pairs:
        lines = [part for line in value.splitlines() or [""] for part in _wrap(line, room)]
        heads = [Text(part, style="bold") for part in _wrap(key, width)]
        if cell_len(key) + 2 <= indent:
            heads[0].append(" " * (indent - cell_len(key)) + lines.pop(0))
        for text in (*heads, *(Text(" " * indent + line) for line in lines)):
            console.print(text, no_wrap=True, crop=False, overflow="ignore", highlight=False)


def print_wrapped(console: Console, text: str, style: str | None = None) -> None:
    """A line of prose, its continuation lines indented so each item of a list stays apart."""
    for line in textwrap.wrap(text, console.width, subsequent_indent="    ", break_on_hyphens=False) or [""]:
        console.print(line, markup=False, highlight=False, style=style, no_wrap=True, crop=False, overflow="ignore")


def _wrap(text: str, room: int) -> list[str]:
    """Lines of at most `room`: at spaces, a longer word (a path, a URL) after a '/' if it has one."""
    lines = []
    for line in textwrap.wrap(text, room, break_long_words=False, break_on_hyphens=False) or [""]:
        while len(line) > room:
            cut = line.rfind("/", 0, room) + 1 or room
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines
