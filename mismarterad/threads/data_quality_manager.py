"""DataQualityManager: completeness of each symbol's session bars, and gaps.

It receives the same blocks as the DataProcessor, straight from the coordinator, and keeps the
starts present on the session's minute grid per symbol (the grid is built once per session).
After each block it publishes the quality so far (to the read model); at the end of a session it
records the validation row of every symbol (bars by interval, quality %, gaps), computed purely
from that session's 1-minute bars so the rows are the same whatever the thread timing. Gap
filling is a live-mode duty and comes with the live data feeds; in backtests a gap stays a gap.

Strategies read quality "as of the bar being handled" through the engine, which computes it
exactly from SessionData; they never wait for this thread.
"""

from __future__ import annotations

import queue
from collections.abc import Sequence
from typing import Any

import numpy as np

from mismarterad.core.calendar import TradingSession
from mismarterad.core.intervals import parse_interval
from mismarterad.core.read_model import QualitySnapshot, ReadModel
from mismarterad.core.run_result import GapRecord, SessionQualityRecord
from mismarterad.services.bar_columns import US_PER_MINUTE, MinuteBlock
from mismarterad.services.session_grid import SessionGrid
from mismarterad.threads.messages import SessionEnd, SessionStart
from mismarterad.threads.worker import PipelineFailure, Worker

__all__ = ["DataQualityManager"]


class DataQualityManager(Worker):
    def __init__(
        self, inbox: queue.Queue[Any], failure: PipelineFailure, board: ReadModel, symbols: Sequence[str],
        derived_intervals: Sequence[str],
    ) -> None:
        super().__init__("DataQualityManager", inbox, failure, board)
        self._symbols = tuple(sorted(symbols))  # the blocks' columns
        self._in_config_order = tuple(symbols)
        self._derived = tuple(derived_intervals)
        self._session: TradingSession | None = None
        self._grid: SessionGrid | None = None
        self._starts: dict[str, list[np.ndarray]] = {}
        self.records: list[SessionQualityRecord] = []
        self._latest_pct: dict[str, float] = {}
        self._latest_gaps: dict[str, int] = {}  # missing-bar runs so far in the session, per symbol

    def handle(self, item: object) -> None:
        if isinstance(item, MinuteBlock):
            self._observe(item)
        elif isinstance(item, SessionStart):
            self._session = item.session
            self._grid = SessionGrid.of(item.session)
            self._starts = {s: [] for s in self._symbols}
        elif isinstance(item, SessionEnd):
            self._finish(item)
        else:
            raise TypeError(f"DataQualityManager got an unexpected message {item!r}")
        self.board.publish_quality(QualitySnapshot(tuple(sorted(self._latest_pct.items())),
                                                   tuple(sorted(self._latest_gaps.items()))))

    def _starts_of(self, symbol: str) -> np.ndarray:
        parts = self._starts.get(symbol, [])
        if len(parts) > 1:
            parts[:] = [np.concatenate(parts)]
        return parts[0] if parts else np.empty(0, np.int64)

    def _observe(self, block: MinuteBlock) -> None:
        self.beat()
        grid = self._grid
        assert grid is not None
        for col, symbol in enumerate(self._symbols):
            self._starts[symbol].append(block.start_us[block.present[:, col]])
        until = int(block.start_us[-1]) + US_PER_MINUTE
        for symbol in self._symbols:
            starts = self._starts_of(symbol)
            pct = grid.quality(starts, until).pct
            self._latest_pct[symbol] = pct
            self._latest_gaps[symbol] = len(grid.gaps(starts, until)) if pct < 100.0 else 0

    def _finish(self, end: SessionEnd) -> None:
        session = end.session
        if end.skipped_reason is not None:
            expected = SessionGrid.of(session).minutes if session.regular_open is not None else 0
            self.records.append(SessionQualityRecord(session.day, "", (), expected, 0.0, (), end.skipped_reason))
            return
        grid = self._grid
        assert grid is not None
        for symbol in self._in_config_order:
            starts = self._starts_of(symbol)
            quality = grid.quality(starts)
            gaps = tuple(GapRecord(g.start_utc, g.end_utc, g.missing) for g in grid.gaps(starts))
            counts = [("1m", len(starts)), *((name, grid.window_count(starts, parse_interval(name).minutes))
                                             for name in self._derived)]
            self.records.append(
                SessionQualityRecord(session.day, symbol, tuple(counts), quality.expected, quality.pct, gaps)
            )
            self._latest_pct[symbol] = quality.pct
