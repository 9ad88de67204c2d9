"""Helpers shared by the `mismarterad` sub-commands: argument types, exit codes, tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

from mismarterad.core.intervals import parse_interval

if TYPE_CHECKING:
    from mismarterad.config.daemon_config import DaemonConfig
    from mismarterad.config.settings import Settings

__all__ = [
    "EX_CANTCREAT",
    "EX_CONFIG",
    "EX_DATAERR",
    "EX_IOERR",
    "EX_OK",
    "EX_SOFTWARE",
    "EX_TEMPFAIL",
    "EX_UNAVAILABLE",
    "EX_USAGE",
    "arg_date",
    "arg_interval",
    "daemon_settings",
    "print_table",
    "reversed_range",
    "terminal_progress",
]

# sysexits.h codes, as the README documents them
EX_OK = 0
EX_SOFTWARE = 1
EX_USAGE = 2  # argparse's own code for a bad command line
EX_DATAERR = 65
EX_UNAVAILABLE = 69
EX_CANTCREAT = 73  # a file to write already exists (init, strategy new: --force overwrites)
EX_IOERR = 74
EX_TEMPFAIL = 75  # try again later: another process holds what we need
EX_CONFIG = 78


def arg_date(text: str) -> date:
    """argparse type for an exchange-local calendar date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: expected YYYY-MM-DD") from None


def arg_interval(text: str) -> str:
    """argparse type for a bar interval (1m, 5m, 1h, 1d, any Nm): a bad one is a usage error (exit 2)."""
    try:
        return parse_interval(text).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def reversed_range(start: date | None, end: date | None) -> int | None:
    """A `--to` before `--from` is a usage error: say so on stderr and return 2 (else None)."""
    if start is not None and end is not None and end < start:
        print(f"mismarterad: error: --to {end} is before --from {start}", file=sys.stderr)
        return EX_USAGE
    return None


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None,
                fold: Collection[str] | None = None) -> None:
    """A table for people on stdout that fits the terminal (`mismarterad.ctl.tables`); `fold`
    names the columns of free text that may wrap. Piped: $COLUMNS or 160 columns wide."""
    from rich.console import Console  # rich costs ~0.1 s to import: only commands that print tables pay it

    from mismarterad.ctl.tables import output_width
    from mismarterad.ctl.tables import print_table as print_fitted

    cells = [["" if v is None else str(v) for v in row] for row in rows]
    print_fitted(Console(file=sys.stdout, width=output_width(), highlight=False), list(headers), cells, title=title,
                 fold=fold)


def daemon_settings(daemon: DaemonConfig) -> Settings:
    """The settings a daemon with this config runs with: its `database_url` and `data_dir`
    override the environment's, so `run` and `user` reach the same database."""
    from mismarterad.config.settings import load_settings

    overrides: dict[str, object] = {}
    if daemon.database_url is not None:
        overrides["database_url"] = daemon.database_url
    if daemon.data_dir is not None:
        overrides["data_dir"] = daemon.data_dir
    return load_settings(**overrides)


#: a progress bar's update: (done, total, description, info)
ProgressUpdate = Callable[[int, int, str, str], None]


@contextmanager
def terminal_progress(description: str) -> Iterator[ProgressUpdate | None]:
    """A progress bar on stderr, beside the logs (while it is shown, log lines are printed above
    it: cli/logging.py), when stderr is a terminal; else None (nothing to draw on)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=None, info="")

        def update(done: int, total: int, text: str, info: str) -> None:
            bar.update(task, total=total, completed=done, description=text, info=info)

        yield update
