"""How the AnalysisEngine walks a block of steps: each step that can change anything in full, in
time order, and the others in bulk.

Part of AnalysisEngine (a mixin: its state is the engine's, set in its __init__). A step needs
the whole per-step treatment of the engine (the broker shown its bars, the close rules, the fills
told, the strategies called) when a strategy is called at it, an open order's symbol has a bar
at it (it may fill), a close rule falls due at it, or the daily loss limit watches a held
position; with a real venue every step does. At any other step nothing can happen but prices
moving: with a simulated broker its closes are handed over at once, and the account is valued at
every step of the block from the broker's holdings (which change only at the full steps) and the
carried closes, exactly as `ExecutionManager.mark` would have valued it step by step.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime
from typing import cast

import numpy as np

from mismarterad.core.market_data import Bar
from mismarterad.services.bar_columns import US_PER_MINUTE, MinuteBlock, to_datetime, to_us
from mismarterad.services.derived_bars import DerivedBars
from mismarterad.services.step_plan import MINUTE, CallPlan, Subscription, call_plan, carried, mark_values
from mismarterad.strategies.column_signals import ColumnSignals
from mismarterad.threads.messages import ProcessedBlock

__all__ = ["BlockWalkingMixin"]


class _Block:
    """One block's columns and the engine's view of them while it walks it."""

    def __init__(self, item: ProcessedBlock, plan: CallPlan) -> None:
        self.block, self.derived = item.block, item.derived
        self.plan = plan
        self.rows = item.block.steps
        self.with_bars = item.block.present.any(axis=1)
        self.present_rows = [np.flatnonzero(item.block.present[:, j]) for j in range(len(item.block.symbols))]
        self._present_lists = [rows.tolist() for rows in self.present_rows]  # bisected in the walk
        columns = len(item.block.symbols)
        called = np.bincount(plan.bar[plan.kind == 0], minlength=columns) if len(plan) else np.zeros(columns, int)
        # a column whose bars are mostly handed to strategies gets them all made in one pass
        self._bulk = [int(called[j]) * 4 >= len(self.present_rows[j]) > 0 for j in range(columns)]
        self._minute_bars: dict[int, list[Bar]] = {}
        self._rank: np.ndarray | None = None

    def minute_bar(self, row: int, col: int, start: datetime) -> Bar:
        bars = self._minute_bars.get(col)
        if bars is None:
            if not self._bulk[col]:
                return self.block.bar_at(row, col, start)
            bars = self._minute_bars[col] = self.block.series(col).bars()
        if self._rank is None:
            self._rank = np.cumsum(self.block.present, axis=0) - 1
        return bars[int(self._rank[row, col])]

    def derived_bar(self, i: int) -> Bar:
        d = self.derived
        return Bar(self.block.symbols[int(d.col[i])], d.intervals[int(d.interval[i])], to_datetime(int(d.start_us[i])),
                   d.open.item(i), d.high.item(i), d.low.item(i), d.close.item(i), d.volume.item(i))

    def next_present(self, col: int, row: int) -> int:
        """The first row at or after `row` where the column has a bar (`rows` if none)."""
        rows = self._present_lists[col]
        i = bisect_left(rows, row)
        return rows[i] if i < len(rows) else self.rows


class BlockWalkingMixin:
    def _subscriptions(self, block: MinuteBlock, derived: DerivedBars) -> list[Subscription]:
        """Who is called for which bars of the block: every subscribed bar, or where a strategy
        with a signal path (strategies/column_signals.py) finds its signals."""
        columns = {s: j for j, s in enumerate(block.symbols)}
        rank = {id(s): i for i, s in enumerate(self.strategies)}
        out = []
        for (symbol, interval), strategies in self._subscribers.items():
            col = columns[symbol]
            if interval == "1m":
                k, at = MINUTE, np.flatnonzero(block.present[:, col])
                closes, starts = block.close[at, col], block.start_us[at]
            elif interval in derived.intervals:
                k = derived.intervals.index(interval)
                at = np.flatnonzero((derived.col == col) & (derived.interval == k))
                closes, starts = derived.close[at], derived.start_us[at]
            else:
                continue  # no such bars in this block
            for strategy in strategies:
                only = None
                if id(strategy) in self._with_signals:
                    last = starts >= to_us(self.last_bar_start(interval))
                    only = cast(ColumnSignals, strategy).column_signals(symbol, interval, closes, last)
                out.append(Subscription(col, k, rank[id(strategy)], only))
        return out

    def _run_block(self, item: ProcessedBlock) -> None:
        if not self._in_session:
            self._begin_strategies()
        block = item.block
        walk = _Block(item, call_plan(block.present, item.derived, self._subscriptions(block, item.derived)))
        execution = self.execution
        bulk = execution.marks_in_bulk
        ends_us = block.start_us + US_PER_MINUTE
        closes_now = carried(block.close, block.present, np.full(len(block.symbols), np.nan)) if bulk else None
        holdings = [(-1, *execution.holdings())] if bulk else []
        before = ({s: execution.valuation_price(s) for s in _held_or_in(block.symbols, holdings)}
                  if bulk else {})
        recorded = execution.recorded_prices() if bulk else {}
        rule_row = self._rule_row(ends_us)
        calls = walk.plan.row.tolist()
        next_call, fills_seen, full = 0, self._fills_told, 0
        changes_seen, open_cols = -1, ()
        stop = self.failure.stop_event
        row = 0
        while row < walk.rows:
            if stop.is_set():
                break  # stopping: the rest of the block is dropped, as the stop asked
            if changes_seen != execution.order_changes:
                changes_seen = execution.order_changes
                names = execution.open_order_symbols()
                open_cols = [j for j, s in enumerate(block.symbols) if s in names]
            if not bulk or execution.watching_loss():
                due = row
            else:
                due = min([calls[next_call] if next_call < len(calls) else walk.rows,
                           *(walk.next_present(j, row) for j in open_cols),
                           rule_row if rule_row >= row else walk.rows])
                if due >= walk.rows:
                    row = walk.rows
                    break
            self.beat()
            next_call = self._full_step(walk, due, next_call, open_cols, closes_now, bulk)
            full += 1
            if bulk and (self._fills_told != fills_seen):
                fills_seen = self._fills_told
                holdings.append((due, *execution.holdings()))
            rule_row = self._rule_row(ends_us) if rule_row <= due else rule_row
            row = due + 1
        self._finish_block(walk, row, full, ends_us, closes_now, holdings, before, recorded)

    def _rule_row(self, ends_us: np.ndarray) -> int:
        """The first row whose step ends at or after the next close rule's time (past the block: none)."""
        at = self.execution.next_rule_utc()
        return len(ends_us) if at is None else int(np.searchsorted(ends_us, to_us(at), side="left"))

    def _full_step(self, walk: _Block, row: int, next_call: int, open_cols: Sequence[int],
                   closes_now: np.ndarray | None, bulk: bool) -> int:
        """Everything of one step, as the engine did it step by step; returns the next call's index."""
        block, execution = walk.block, self.execution
        start_us = int(block.start_us[row])
        start = to_datetime(start_us)
        self.as_of, self.step_end = start, to_datetime(start_us + US_PER_MINUTE)
        catch_up = bool(block.catch_up[row]) if block.catch_up is not None else False
        execution.start_step(self.step_end, catch_up=catch_up)
        present = block.present[row]
        if bulk:
            assert closes_now is not None
            symbols = block.symbols
            execution.show_prices({symbols[j]: v for j, v in enumerate(closes_now[row].tolist()) if v == v})
            shown = [j for j in open_cols if present[j]]
        else:
            shown = np.flatnonzero(present).tolist()
        for col in shown:
            execution.on_bar(walk.minute_bar(row, col, start))
        execution.begin_step(self.step_end, catch_up=catch_up)
        self._account = None
        self._tell_fills()
        plan = walk.plan
        strategies = self.strategies
        while next_call < len(plan) and plan.row[next_call] == row:
            bar = (walk.minute_bar(row, int(plan.bar[next_call]), start) if plan.kind[next_call] == 0
                   else walk.derived_bar(int(plan.bar[next_call])))
            self._call(strategies[int(plan.strategy[next_call])], "on_bar", bar, signal=bool(plan.signal[next_call]))
            next_call += 1
        if not bulk and present.any():
            execution.mark(self.step_end)
        if block.released_monotonic and self.observe_decision is not None:
            self.observe_decision(time.monotonic() - block.released_monotonic)
        return next_call

    def _finish_block(self, walk: _Block, done: int, full: int, ends_us: np.ndarray, closes_now: np.ndarray | None,
                      holdings: list[tuple], before: dict[str, float | None], recorded: dict[str, float]) -> None:
        """The block's steps up to `done` (`full` of them walked in full) valued and recorded;
        prices, counters and the engine's step as they would be after walking every step."""
        block, execution = walk.block, self.execution
        if done == 0:
            return
        last = done - 1
        self.as_of, self.step_end = to_datetime(int(block.start_us[last])), to_datetime(int(ends_us[last]))
        execution.start_step(self.step_end, catch_up=bool(block.catch_up[last]) if block.catch_up is not None else False)
        symbols = block.symbols
        if closes_now is not None:
            execution.show_prices({symbols[j]: v for j, v in enumerate(closes_now[last].tolist()) if v == v})
            latest = {}
            for j in range(len(symbols)):
                rows = walk.present_rows[j]
                k = int(np.searchsorted(rows, done)) - 1
                if k >= 0:
                    latest[symbols[j]] = walk.minute_bar(int(rows[k]), j, to_datetime(int(block.start_us[rows[k]])))
            execution.show_last_bars(latest)
            self._record_block(walk, done, ends_us, closes_now, holdings, before, recorded)
        self._count_bars(walk, done)
        if block.released_monotonic and self.observe_decision is not None:
            for _ in range(done - full):  # observed once per step, as step by step
                self.observe_decision(time.monotonic() - block.released_monotonic)

    def _record_block(self, walk: _Block, done: int, ends_us: np.ndarray, closes_now: np.ndarray,
                      holdings: list[tuple], before: dict[str, float | None], recorded: dict[str, float]) -> None:
        block = walk.block
        rows = np.flatnonzero(walk.with_bars[:done])
        if not len(rows):
            return
        columns = {s: j for j, s in enumerate(block.symbols)}
        order = [s for s, _ in holdings[-1][2]]  # the broker's summing order only grows
        change_rows = np.array([h[0] for h in holdings], dtype=np.int64)
        quantities = np.zeros((len(holdings), len(order)), dtype=np.int64)
        for i, (_row, _cash, positions, _exposed) in enumerate(holdings):
            for s, q in positions:
                quantities[i, order.index(s)] = q
        prices = np.empty((walk.rows, len(order)))
        for j, s in enumerate(order):
            start = before.get(s)
            start_value = np.nan if start is None else start
            if s in columns:
                col = columns[s]
                prices[:, j] = np.where(np.isnan(closes_now[:, col]), start_value, closes_now[:, col])
            else:
                prices[:, j] = start_value
        current = np.searchsorted(change_rows, np.arange(walk.rows), side="right") - 1
        cash = np.array([h[1] for h in holdings])[current]
        exposed = np.array([h[3] for h in holdings], dtype=bool)[current]
        value = mark_values(walk.rows, change_rows, quantities, prices)
        marks = {}
        for s in sorted(set(recorded) | {s for j, s in enumerate(block.symbols) if len(walk.present_rows[j])}):
            start = recorded.get(s, np.nan)
            col = columns.get(s)
            series = np.full(walk.rows, start) if col is None else np.where(np.isnan(closes_now[:, col]), start,
                                                                             closes_now[:, col])
            marks[s] = series[rows]
        self.execution.record_marks(ends_us[rows], cash[rows], value[rows], (cash + value)[rows], exposed[rows], marks)

    def _count_bars(self, walk: _Block, done: int) -> None:
        block, derived = walk.block, walk.derived
        counts, newest = self.bars_by_series, self._last_bars
        present = block.present[:done]
        for j, symbol in enumerate(block.symbols):
            n = int(present[:, j].sum())
            if n:
                key = (symbol, "1m")
                counts[key] = counts.get(key, 0) + n
                last = int(np.flatnonzero(present[:, j])[-1])
                newest[key] = walk.minute_bar(last, j, to_datetime(int(block.start_us[last])))
        shown = np.flatnonzero(derived.row < done)
        for i in shown.tolist():
            key = (block.symbols[int(derived.col[i])], derived.intervals[int(derived.interval[i])])
            counts[key] = counts.get(key, 0) + 1
        for key_i in {(int(derived.col[i]), int(derived.interval[i])): i for i in shown.tolist()}.values():
            bar = walk.derived_bar(key_i)
            newest[(bar.symbol, bar.interval)] = bar
        bars = int(present.sum())
        if bars:
            self.bars_processed += bars
            last_row = int(np.flatnonzero(present.any(axis=1))[-1])
            self.last_bar_end = to_datetime(int(block.start_us[last_row]) + US_PER_MINUTE)


def _held_or_in(symbols: Sequence[str], holdings: list[tuple]) -> list[str]:
    return sorted(set(symbols) | {s for s, _ in holdings[0][2]}) if holdings else list(symbols)
