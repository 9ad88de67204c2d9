"""Missing bars against the session's expected grid (early closes respected)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mismarterad.core.calendar import TradingSession
from mismarterad.core.intervals import Interval
from mismarterad.core.market_data import Bar

__all__ = ["Gap", "detect_gaps", "expected_starts"]


@dataclass(frozen=True, slots=True)
class Gap:
    """Consecutive missing bars: [start_utc, end_utc), `missing` bars long."""

    start_utc: datetime
    end_utc: datetime
    missing: int


def expected_starts(session: TradingSession, interval: Interval) -> list[datetime]:
    """UTC starts of every bar the regular session should have."""
    if session.regular_open is None or session.regular_close is None:
        return []
    open_, close = session.regular_open.astimezone(UTC), session.regular_close.astimezone(UTC)
    if interval.daily:
        return [open_]
    count = -(-(close - open_) // interval.length)  # ceil: a cut last window still counts
    return [open_ + i * interval.length for i in range(count)]


def detect_gaps(
    bars: Sequence[Bar], session: TradingSession, interval: Interval, until_utc: datetime | None = None
) -> list[Gap]:
    """Missing expected starts (those before `until_utc` for a session in progress), merged into runs."""
    present = {b.start_utc for b in bars}
    gaps: list[Gap] = []
    run: list[datetime] = []
    expected = [t for t in expected_starts(session, interval) if until_utc is None or t < until_utc]
    for t in [*expected, None]:
        if t is not None and t not in present:
            run.append(t)
        elif run:
            gaps.append(Gap(run[0], _bar_end(run[-1], session, interval), len(run)))
            run = []
    return gaps


def _bar_end(start: datetime, session: TradingSession, interval: Interval) -> datetime:
    assert session.regular_close is not None
    close = session.regular_close.astimezone(UTC)
    return close if interval.daily else min(start + interval.length, close)
