"""The steps of a live session: the store's catch-up and the feed's bars joined, and when each
1-minute step may go out. Used by the SessionCoordinator's live mode, which sends the steps on
as blocks (`MinuteBlock.from_steps`); `group_steps` groups bars into steps exactly as a
backtest's block has them (one row per distinct start, bars sorted by symbol)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from mismarterad.core.calendar import TradingSession
from mismarterad.core.clock import Clock
from mismarterad.core.market_data import Bar

__all__ = ["STEP_GRACE", "STEP_GRACE_REAL_SECS", "BarStep", "LiveSteps", "group_steps"]

ONE_MINUTE = timedelta(minutes=1)
STEP_GRACE = timedelta(seconds=2)  # clock time past a step's end before it goes out incomplete
STEP_GRACE_REAL_SECS = 0.1  # ...plus this much real time, so a fast replay never splits a step on thread jitter


@dataclass(frozen=True, slots=True)
class BarStep:
    """The 1-minute bars that share one start instant, sorted by symbol."""

    start_utc: datetime
    bars: tuple[Bar, ...]
    catch_up: bool = False  # taken from the store at the start, its minute already past


class LiveSteps:
    """Joins the store's catch-up and the feed's bars into one session's steps, and says when each
    step may go out.

    The cut. The feed is subscribed first; then the cut `C` is read, the current minute of the
    clock (`floor(now)`), and then the store. The catch-up is the stored bars starting before
    `C`: each has ended by `C <= now`, so it is due. The feed delivers from the minute in
    progress when its own thread reads the clock, which is `C`, or a minute earlier when it read
    the clock before us across a minute boundary: feed bars starting before `C` are therefore
    dropped (no duplicate). It can also read the clock a minute *later* than us (its thread was
    slow to start across a boundary); then its first bar starts after `C`, so the first feed bar
    starting at or after `C`, at F, closes the cut: stored bars in [C, F) are taken too (no
    hole). If no such bar comes, the session's end (or a drain) closes the cut the same way.
    After the cut is closed every bar comes from the feed. Steps taken from the store are
    `catch_up` steps: their minute passed before the session started, so a real account is sent
    no order decided on them (ExecutionManager.begin_step).

    Steps. A step is the 1m bars of the regular session sharing one start, sorted by symbol, as
    `group_steps` groups them for backtests. Pending steps go out in time order, each as soon as it is
    complete: every subscribed symbol's bar is in, or a bar of a later minute arrived (the feed
    is in time order), or the clock passed its end + STEP_GRACE (+ STEP_GRACE_REAL_SECS real
    time). A bar for a minute already released comes too late and is dropped (logged). The
    session ends with its last step (the one ending at the regular close), with a feed bar at or
    after the close, or when the clock passes the close + the grace.
    """

    def __init__(self, session: TradingSession, symbols: Sequence[str], clock: Clock) -> None:
        assert session.regular_open is not None and session.regular_close is not None
        self._open, self._close = session.regular_open, session.regular_close
        self._symbols = frozenset(symbols)
        self._clock = clock
        self.cut = clock.now().replace(second=0, microsecond=0)
        self._cut_closed = False
        self._stored: list[Bar] = []
        self._from_store: set[datetime] = set()  # starts of pending steps taken from the store
        self._pending: dict[datetime, dict[str, Bar]] = {}
        self._frontier: datetime | None = None  # latest start the feed delivered (any bar of ours)
        self._last_released: datetime | None = None
        self.released_any = False
        self.ended = False
        self.log = structlog.get_logger(component="SessionCoordinator")

    def set_stored(self, bars_by_symbol: dict[str, list[Bar]]) -> None:
        self._stored = sorted((b for bars in bars_by_symbol.values() for b in bars),
                              key=lambda b: (b.start_utc, b.symbol))

    def catch_up(self) -> list[BarStep]:
        """The stored steps already due at the cut, released at once."""
        due = [b for b in self._stored if b.start_utc < self.cut]
        return self._mark([replace(s, catch_up=True) for s in group_steps(_by_symbol(due))])

    def add(self, bar: Bar) -> None:
        if bar.symbol not in self._symbols or bar.interval != "1m":
            return
        start = bar.start_utc
        if not self._cut_closed:
            if start < self.cut:
                return  # released from the store by the catch-up
            self._close_cut(start)
        if self._frontier is None or start > self._frontier:
            self._frontier = start
        if not self._open <= start < self._close:
            return  # outside the regular session: only tells that earlier minutes are complete
        if self._last_released is not None and start <= self._last_released:
            self.log.warning("late_bar_dropped", symbol=bar.symbol, start=start.isoformat())
            return
        self._pending.setdefault(start, {})[bar.symbol] = bar

    def releasable(self) -> list[BarStep]:
        """The pending steps that may go out now, in time order; ends the session after its last."""
        if self.ended:
            return []
        session_over = (self._frontier is not None and self._frontier >= self._close) or self._overdue(self._close)
        if session_over and not self._cut_closed:
            self._close_cut(self._close)
        ready: list[datetime] = []
        for start in sorted(self._pending):
            bars = self._pending[start]
            complete = len(bars) == len(self._symbols) or (self._frontier is not None and self._frontier > start)
            if not (session_over or complete or self._overdue(start + ONE_MINUTE)):
                break  # never a step after a later one
            ready.append(start)
        out = self._take(ready)
        if session_over or (self._last_released is not None and self._last_released + ONE_MINUTE >= self._close):
            self.ended = True
        return out

    def due_complete(self, at: datetime) -> bool:
        """Whether every bar due at `at` (a drain's instant) is known to be in."""
        if self.ended:
            return True
        last_due = at.replace(second=0, microsecond=0) - ONE_MINUTE
        if not self._cut_closed and last_due < self.cut:
            return True
        if self._last_released is not None and self._last_released >= last_due:
            return True
        if self._frontier is not None and self._frontier > last_due:
            return True
        return len(self._pending.get(last_due, {})) == len(self._symbols)

    def finish_due(self, at: datetime) -> list[BarStep]:
        """A drain: the steps due at `at`, then the session ends; steps not due yet are dropped."""
        if self.ended:
            return []
        if not self._cut_closed:
            self._close_cut(min(at.replace(second=0, microsecond=0), self._close))
        due = [start for start in sorted(self._pending) if start + ONE_MINUTE <= at]
        dropped = len(self._pending) - len(due)
        if dropped:
            self.log.info("drain_dropped_steps_not_due", steps=dropped)
        out = self._take(due)
        self._pending.clear()
        self.ended = True
        return out

    def seconds_to_next_deadline(self) -> float:
        """Real seconds until a pending step (or the session) is overdue; never negative."""
        ends = [self._close]
        if self._pending:
            ends.append(min(self._pending) + ONE_MINUTE)
        delay = min(self._clock.real_delay(t + STEP_GRACE) for t in ends) + STEP_GRACE_REAL_SECS
        return max(0.0, delay)

    def _overdue(self, end: datetime) -> bool:
        return self._clock.real_delay(end + STEP_GRACE) <= -STEP_GRACE_REAL_SECS

    def _close_cut(self, until: datetime) -> None:
        """Stored bars in [cut, until) of the session are due and the feed will not send them."""
        self._cut_closed = True
        for bar in self._stored:
            if self.cut <= bar.start_utc < until:
                self._pending.setdefault(bar.start_utc, {})[bar.symbol] = bar
                self._from_store.add(bar.start_utc)
        if until > self.cut and any(self.cut <= b.start_utc < until for b in self._stored):
            self.log.info("cut_closed_from_store", cut=self.cut.isoformat(), until=until.isoformat())

    def _take(self, starts: list[datetime]) -> list[BarStep]:
        bars = [bar for start in starts for bar in self._pending.pop(start).values()]
        steps = group_steps(_by_symbol(bars))
        return self._mark([replace(s, catch_up=True) if s.start_utc in self._from_store else s for s in steps])

    def _mark(self, steps: list[BarStep]) -> list[BarStep]:
        if steps:
            self._last_released = steps[-1].start_utc
            self.released_any = True
        return steps


def _by_symbol(bars: Sequence[Bar]) -> dict[str, list[Bar]]:
    out: dict[str, list[Bar]] = {}
    for bar in bars:
        out.setdefault(bar.symbol, []).append(bar)
    return out


def group_steps(bars_by_symbol: dict[str, list[Bar]]) -> list[BarStep]:
    """Group the day's bars into 1-minute steps, each step's bars sorted by symbol."""
    by_start: dict[Any, list[Bar]] = {}
    for symbol in sorted(bars_by_symbol):
        for bar in bars_by_symbol[symbol]:
            by_start.setdefault(bar.start_utc, []).append(bar)
    return [BarStep(start, tuple(by_start[start])) for start in sorted(by_start)]
