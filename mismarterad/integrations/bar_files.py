"""Read bar files (CSV or Parquet) into numbered raw rows for validation.

Only reading happens here; what a valid row is lives in `services/bar_import.py`. Line
numbers are physical lines of the file, the header being line 1, so an operator can open
the file at the reported line. For Parquet, a row's "line" is its index + 2, as if it had been
written out as CSV with a header.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from mismarterad.core.errors import DataError

__all__ = ["BarFile", "open_bar_file"]

RawRow = tuple[int, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class BarFile:
    """A bar file's column names and a one-pass iterator over its numbered rows."""

    path: Path
    columns: tuple[str, ...]
    rows: Iterator[RawRow]


def open_bar_file(path: Path) -> BarFile:
    """Open a `.csv` or `.parquet` bar file; raise DataError if it cannot be read at all."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _parquet(path)
    if suffix in (".csv", ".txt"):
        return _csv(path)
    raise DataError(f"{path}: unsupported file type {suffix!r}: expected .csv or .parquet")


def _csv(path: Path) -> BarFile:
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise DataError(f"{path}: the file is empty (expected a header line)") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        handle.close()
        raise DataError(f"{path}: line 1: cannot read the header: {exc}") from None
    columns = tuple(c.strip().lower() for c in header)

    def rows() -> Iterator[RawRow]:
        with handle:
            start = reader.line_num + 1
            try:
                for record in reader:
                    if record:
                        line = start
                        if len(record) != len(columns):
                            yield line, {"__error__": f"has {len(record)} fields, the header has {len(columns)}"}
                        else:
                            yield line, dict(zip(columns, (v.strip() for v in record), strict=True))
                    start = reader.line_num + 1
            except (UnicodeDecodeError, csv.Error) as exc:
                raise DataError(f"{path}: line {reader.line_num}: unreadable: {exc}") from None

    return BarFile(path, columns, rows())


def _parquet(path: Path) -> BarFile:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from None
    columns = tuple(name.lower() for name in table.column_names)
    table = table.rename_columns(list(columns))

    def rows() -> Iterator[RawRow]:
        for index, record in enumerate(table.to_pylist()):
            yield index + 2, record

    return BarFile(path, columns, rows())
