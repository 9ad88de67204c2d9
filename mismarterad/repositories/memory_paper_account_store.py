"""The in-memory twin of the paper account tables: the same contract
(core/paper_account.PaperAccountStore), held to it by the one contract suite."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime

from mismarterad.core.paper_account import PaperAccountOpened, PaperBalance, PaperDay

__all__ = ["MemoryPaperAccountStore"]


class MemoryPaperAccountStore:
    def __init__(self) -> None:
        self._opened: dict[str, PaperAccountOpened] = {}
        self._days: dict[str, dict[date, PaperDay]] = {}
        self._lock = threading.Lock()

    def opened(self, account: str) -> PaperAccountOpened | None:
        return self._opened.get(account)

    def open(self, account: str, starting_cash: float, opened_utc: datetime) -> None:
        with self._lock:
            self._opened[account] = PaperAccountOpened(starting_cash, opened_utc)
            self._days[account] = {}

    def day(self, account: str, day: date) -> PaperDay | None:
        return self._days.get(account, {}).get(day)

    def latest_day(self, account: str, before: date | None = None) -> PaperDay | None:
        with self._lock:
            days = [d for d in self._days.get(account, {}) if before is None or d < before]
            return self._days[account][max(days)] if days else None

    def begin_day(self, account: str, day: date, id_prefix: str, opening: PaperBalance) -> PaperDay:
        with self._lock:
            days = self._days.setdefault(account, {})
            held = days.get(day)
            days[day] = PaperDay(day, id_prefix, _stored(opening), None) if held is None else replace(held, closing=None)
            return days[day]

    def close_day(self, account: str, day: date, closing: PaperBalance) -> None:
        with self._lock:
            days = self._days.get(account, {})
            if day in days:  # reset since the day began: the new account is not this day's
                days[day] = replace(days[day], closing=_stored(closing))


def _stored(balance: PaperBalance) -> PaperBalance:
    """The balance as the database gives it back: zero positions dropped, by symbol."""
    return PaperBalance.of(balance.cash, balance.positions)
