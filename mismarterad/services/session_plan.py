"""When the daemon runs a trading day: from `lead` before the open to `lag` after the close.

The window comes from the day's TradingSession (early closes, DST and holidays included), never
from fixed times. `next_window` picks what to do at an instant: the window in progress (start at
once: catch-up), else the next one that has not ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from mismarterad.core.calendar import TradingSession

__all__ = ["SessionWindow", "next_window", "session_window"]


@dataclass(frozen=True, slots=True)
class SessionWindow:
    day: date
    start_utc: datetime
    stop_utc: datetime


def session_window(session: TradingSession, lead: timedelta, lag: timedelta) -> SessionWindow:
    if session.regular_open is None or session.regular_close is None:
        raise ValueError(f"{session.day} is not a trading day")
    return SessionWindow(session.day, (session.regular_open - lead).astimezone(UTC),
                         (session.regular_close + lag).astimezone(UTC))


def next_window(windows: Iterable[SessionWindow], now_utc: datetime) -> SessionWindow | None:
    """The first window (in time order) that has not ended at `now_utc`."""
    for window in sorted(windows, key=lambda w: w.start_utc):
        if now_utc < window.stop_utc:
            return window
    return None
