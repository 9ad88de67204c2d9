"""A written report folder read back as facts: its CSV rows and JSON files, as the language
model's tools hand them out. Read-only by construction: files are opened for reading only,
and the bar store is only asked for bars.

A missing folder is a StorageError (exit 74); a damaged file a DataError (exit 65) naming it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mismarterad.core.bar_store import BarStore
from mismarterad.core.errors import DataError, StorageError
from mismarterad.core.market_data import Bar

__all__ = ["ReportFacts"]


@dataclass(frozen=True)
class ReportFacts:
    folder: Path
    bar_store: BarStore
    timezone: ZoneInfo
    session_config: dict[str, Any] | None = None  # redacted JSON of the session config, when known

    def __post_init__(self) -> None:
        if not self.folder.is_dir():
            raise StorageError(f"{self.folder}: no report folder there (sessions write it at close + lag; "
                               f"backtests where --out says)")

    @property
    def name(self) -> str:
        return self.folder.name

    def rows(self, file: str) -> list[dict[str, str]]:
        """The rows of a CSV file of the report, each with every header field; [] when the report
        has no such file."""
        path = self.folder / file
        try:
            with path.open(newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                rows = list(reader)
                header = reader.fieldnames or []
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataError(f"{path}: cannot read it as CSV ({type(exc).__name__})") from None
        for number, row in enumerate(rows, start=2):
            if None in row or None in row.values():
                raise DataError(f"{path} line {number}: expected {len(header)} fields as in its header")
        return rows

    def document(self, file: str) -> dict[str, Any]:
        """A JSON file of the report as a dict; {} when the report has no such file."""
        path = self.folder / file
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"{path}: cannot read it as JSON ({type(exc).__name__})") from None
        if not isinstance(value, dict):
            raise DataError(f"{path}: expected a JSON object")
        return value

    def bars(self, symbol: str, start_utc: datetime, end_utc: datetime) -> list[Bar]:
        return self.bar_store.read_bars(symbol, "1m", start_utc, end_utc)
