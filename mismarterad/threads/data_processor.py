"""DataProcessor: derived intervals and real-time indicators, step by step.

For every 1-minute step it stores the bars in SessionData, feeds the incremental aggregators
(one per symbol and derived interval) and the incremental indicators, stores what they
produce as visible from this step, and hands the step, with the derived bars it completed,
to the AnalysisEngine. Indicators start from the session's history so they continue across
days; without history they simply start over.
"""

from __future__ import annotations

import queue
from dataclasses import replace
from collections.abc import Sequence
from typing import Any

from mismarterad.core.calendar import TradingSession
from mismarterad.core.intervals import parse_interval
from mismarterad.core.market_data import Bar
from mismarterad.core.pipeline import BarStep, SessionEnd, SessionStart, StepBatch
from mismarterad.core.read_model import ReadModel
from mismarterad.core.session_data import SessionData
from mismarterad.services.bar_aggregation import BarAggregator
from mismarterad.services.indicators.factory import IncrementalIndicator, make_indicator
from mismarterad.strategies.base import IndicatorRequest
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
        self._symbols = tuple(symbols)
        self._derived = tuple(parse_interval(i) for i in derived_intervals)
        self._requests = tuple(indicator_requests)
        self._data: SessionData | None = None
        self._session: TradingSession | None = None
        self._aggregators: dict[str, list[BarAggregator]] = {}
        self._indicators: dict[tuple[str, str], list[tuple[str, IncrementalIndicator]]] = {}
        self._last_step: BarStep | None = None

    def handle(self, item: object) -> None:
        if isinstance(item, StepBatch):
            processed = []
            for step in item.steps:
                if self.failure.stop_event.is_set():
                    return
                self.beat()
                processed.append(self._process(step))
            self.forward(StepBatch(tuple(processed)))
        elif isinstance(item, SessionStart):
            self._start(item)
            self.forward(item)
        elif isinstance(item, SessionEnd):
            if item.skipped_reason is None:
                flushed = self._flush()
                if flushed is not None:
                    self.forward(StepBatch((flushed,)))
            self.forward(item)
        else:
            raise TypeError(f"DataProcessor got an unexpected message {item!r}")

    def forward(self, item: object) -> None:
        put_or_stop(self._outbox, item, self.failure.stop_event, self.beat)

    def _start(self, message: SessionStart) -> None:
        self._data, self._session = message.session_data, message.session
        self._last_step = None
        self._aggregators = {s: [BarAggregator(i, message.session) for i in self._derived] for s in self._symbols}
        self._indicators = {}
        for request in self._requests:
            for symbol in self._symbols:
                indicator = make_indicator(request)
                history = self._data.all_bars(symbol, request.interval)
                values = [indicator.update(bar) for bar in history]
                self._data.set_indicator(symbol, request.interval, request.name, values)
                self._indicators.setdefault((symbol, request.interval), []).append((request.name, indicator))

    def _process(self, step: BarStep) -> BarStep:
        data = self._data
        assert data is not None
        data.append_bars(step.bars)
        self._update_indicators(step.bars)
        derived: list[Bar] = []
        for bar in step.bars:
            for aggregator in self._aggregators[bar.symbol]:
                derived.extend(aggregator.add(bar))
        if derived:
            data.append_bars(derived, visible_from=step.start_utc)
            self._update_indicators(derived)
        self._last_step = step
        return replace(step, derived=tuple(derived)) if derived else step

    def _update_indicators(self, bars: Sequence[Bar]) -> None:
        data = self._data
        assert data is not None
        for bar in bars:
            for name, indicator in self._indicators.get((bar.symbol, bar.interval), ()):
                data.update_indicator_last(bar.symbol, bar.interval, name, indicator.update(bar))

    def _flush(self) -> BarStep | None:
        """Emit the windows still open at the session's end (missing last minutes)."""
        if self._last_step is None:
            return None
        derived = [bar for aggs in self._aggregators.values() for agg in aggs for bar in agg.flush()]
        if not derived:
            return None
        derived.sort(key=lambda b: (b.symbol, b.interval))
        assert self._data is not None
        self._data.append_bars(derived, visible_from=self._last_step.start_utc)
        self._update_indicators(derived)
        return replace(self._last_step, bars=(), derived=tuple(derived))

