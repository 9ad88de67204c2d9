"""DataProcessor: derived intervals and real-time indicators, a block at a time.

For every block of 1-minute steps it stores each symbol's bars in SessionData, builds the
derived intervals the block's steps completed (services/derived_bars.py, grouping the columns)
and the indicators over the new bars (kernels carrying their state), stores what they produce
as visible from the step that completed it, and hands the block, with its derived bars, to the
AnalysisEngine. Indicators start from the session's history so they continue across days;
without history they simply start over. At the session's end the windows still open (their
last minutes missing) are completed at the last step.
"""

from __future__ import annotations

import queue
from collections.abc import Sequence
from typing import Any

import numpy as np

from mismarterad.core.intervals import parse_interval
from mismarterad.core.read_model import ReadModel
from mismarterad.managers.session_data import SessionData
from mismarterad.services.bar_columns import BarSeries, MinuteBlock
from mismarterad.services.derived_bars import DerivedAggregator, DerivedBars
from mismarterad.services.indicators.factory import IncrementalIndicator, make_indicator
from mismarterad.services.session_grid import SessionGrid
from mismarterad.strategies.base import IndicatorRequest
from mismarterad.threads.messages import ProcessedBlock, SessionEnd, SessionStart
from mismarterad.threads.worker import PipelineFailure, Worker, put_or_stop

__all__ = ["DataProcessor"]


class DataProcessor(Worker):
    def __init__(
        self,
        inbox: queue.Queue[Any],
        outbox: queue.Queue[Any],
        failure: PipelineFailure,
        board: ReadModel,
        symbols: Sequence[str],
        derived_intervals: Sequence[str],
        indicator_requests: Sequence[IndicatorRequest],
    ) -> None:
        super().__init__("DataProcessor", inbox, failure, board)
        self._outbox = outbox
        self._symbols = tuple(sorted(symbols))  # the blocks' columns
        self._derived = tuple(parse_interval(i) for i in derived_intervals)
        self._requests = tuple(indicator_requests)
        self._data: SessionData | None = None
        self._aggregator: DerivedAggregator | None = None
        self._indicators: dict[tuple[str, str], list[tuple[str, IncrementalIndicator]]] = {}
        self._last_block: MinuteBlock | None = None

    def handle(self, item: object) -> None:
        if isinstance(item, MinuteBlock):
            self.beat()
            self.forward(self._process(item))
        elif isinstance(item, SessionStart):
            self._start(item)
            self.forward(item)
        elif isinstance(item, SessionEnd):
            if item.skipped_reason is None:
                flushed = self._flush()
                if flushed is not None:
                    self.forward(flushed)
            self.forward(item)
        else:
            raise TypeError(f"DataProcessor got an unexpected message {item!r}")

    def forward(self, item: object) -> None:
        put_or_stop(self._outbox, item, self.failure.stop_event, self.beat)

    def _start(self, message: SessionStart) -> None:
        self._data = data = message.session_data
        self._last_block = None
        self._aggregator = DerivedAggregator(SessionGrid.of(message.session), len(self._symbols), self._derived)
        self._indicators = {}
        for request in self._requests:
            for symbol in self._symbols:
                indicator = make_indicator(request)
                values = indicator.update_series(data.series(symbol, request.interval))
                data.set_indicator(symbol, request.interval, request.name, values)
                self._indicators.setdefault((symbol, request.interval), []).append((request.name, indicator))

    def _process(self, block: MinuteBlock) -> ProcessedBlock:
        data, aggregator = self._data, self._aggregator
        assert data is not None and aggregator is not None
        for col, symbol in enumerate(self._symbols):
            series = block.series(col)
            if len(series):
                data.append(series, indicators=self._update(series))
        derived = aggregator.add(block)
        self._store_derived(block, derived)
        self._last_block = block
        return ProcessedBlock(block, derived)

    def _store_derived(self, block: MinuteBlock, derived: DerivedBars) -> None:
        data = self._data
        assert data is not None
        for col, interval in sorted(set(zip(derived.col.tolist(), derived.interval.tolist(), strict=True))):
            keep = np.flatnonzero((derived.col == col) & (derived.interval == interval))
            series = BarSeries(self._symbols[col], derived.intervals[interval], derived.start_us[keep],
                               derived.open[keep], derived.high[keep], derived.low[keep], derived.close[keep],
                               derived.volume[keep])
            data.append(series, block.start_us[derived.row[keep]], self._update(series))

    def _update(self, series: BarSeries) -> dict[str, np.ndarray]:
        return {name: indicator.update_series(series)
                for name, indicator in self._indicators.get((series.symbol, series.interval), ())}

    def _flush(self) -> ProcessedBlock | None:
        """The windows still open at the session's end, completed at its last step."""
        last, aggregator = self._last_block, self._aggregator
        if last is None or aggregator is None:
            return None
        step = last.rows(last.steps - 1, last.steps)
        step = MinuteBlock(step.symbols, step.start_us, step.open, step.high, step.low, step.close, step.volume,
                           np.zeros_like(step.present), step.catch_up, step.released_monotonic)
        derived = aggregator.flush(0)
        if not len(derived):
            return None
        self._store_derived(step, derived)
        return ProcessedBlock(step, derived, flush=True)
