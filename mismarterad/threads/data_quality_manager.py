"""DataQualityManager: completeness of each symbol's session bars, and gaps.

It receives the same steps as the DataProcessor, straight from the coordinator, and keeps one
incremental quality tracker per symbol. After each batch it publishes the quality so far
(to the read model); at the end of a session it records the validation row of every symbol
(bars by interval, quality %, gaps), computed purely from that session's 1-minute bars so
the rows are the same whatever the thread timing. Gap filling is a live-mode duty and comes
with the live data feeds; in backtests a gap stays a gap.

Strategies read quality "as of the bar being handled" through the engine, which computes it
exactly from SessionData; they never wait for this thread.
"""

from __future__ import annotations

import queue
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from mismarterad.core.calendar import TradingSession
from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.pipeline import SessionEnd, SessionStart, StepBatch
from mismarterad.core.read_model import QualitySnapshot, ReadModel
from mismarterad.core.run_result import GapRecord, SessionQualityRecord
from mismarterad.services.bar_aggregation import derived_bar_count
from mismarterad.services.gap_detection import detect_gaps, expected_starts
from mismarterad.services.quality_scoring import QualityTracker, score_quality
from mismarterad.threads.worker import PipelineFailure, Worker

__all__ = ["DataQualityManager"]

_BASE = parse_interval("1m")


class DataQualityManager(Worker):
    def __init__(
        self, inbox: queue.Queue[Any], failure: PipelineFailure, board: ReadModel, symbols: Sequence[str],
        derived_intervals: Sequence[str],
    ) -> None:
        super().__init__("DataQualityManager", inbox, failure, board)
        self._symbols = tuple(symbols)
        self._derived = tuple(derived_intervals)
        self._session: TradingSession | None = None
        self._trackers: dict[str, QualityTracker] = {}
        self._bars: dict[str, list[Bar]] = {}
        self.records: list[SessionQualityRecord] = []
        self._latest_pct: dict[str, float] = {}
        self._latest_gaps: dict[str, int] = {}  # missing-bar runs so far in the session, per symbol

    def handle(self, item: object) -> None:
        if isinstance(item, StepBatch):
            self._observe(item)
        elif isinstance(item, SessionStart):
            self._session = item.session
            self._trackers = {s: QualityTracker(item.session, _BASE) for s in self._symbols}
            self._bars = {s: [] for s in self._symbols}
        elif isinstance(item, SessionEnd):
            self._finish(item)
        else:
            raise TypeError(f"DataQualityManager got an unexpected message {item!r}")
        self.board.publish_quality(QualitySnapshot(tuple(sorted(self._latest_pct.items())),
                                                   tuple(sorted(self._latest_gaps.items()))))

    def _observe(self, batch: StepBatch) -> None:
        self.beat()
        for step in batch.steps:
            for bar in step.bars:
                self._trackers[bar.symbol].add(bar)
                self._bars[bar.symbol].append(bar)
        last = batch.steps[-1].start_utc
        assert self._session is not None
        until = last + timedelta(minutes=1)
        for symbol, tracker in self._trackers.items():
            pct = tracker.quality(until).pct
            self._latest_pct[symbol] = pct
            if pct < 100.0:
                self._latest_gaps[symbol] = len(detect_gaps(self._bars[symbol], self._session, _BASE, until))
            else:
                self._latest_gaps[symbol] = 0

    def _finish(self, end: SessionEnd) -> None:
        session = end.session
        if end.skipped_reason is not None:
            expected = len(expected_starts(session, _BASE))
            self.records.append(SessionQualityRecord(session.day, "", (), expected, 0.0, (), end.skipped_reason))
            return
        for symbol in self._symbols:
            bars = self._bars.get(symbol, [])
            quality = score_quality(bars, session, _BASE)
            gaps = tuple(GapRecord(g.start_utc, g.end_utc, g.missing) for g in detect_gaps(bars, session, _BASE))
            counts = [("1m", len(bars)), *((name, derived_bar_count(bars, session, parse_interval(name)))
                                           for name in self._derived)]
            self.records.append(
                SessionQualityRecord(session.day, symbol, tuple(counts), quality.expected, quality.pct, gaps)
            )
            self._latest_pct[symbol] = quality.pct
