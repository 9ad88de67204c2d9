"""The order journal boundary: every intent is written here before anything is sent.

A daemon's day-run journals each order as an intent (committed) before its broker call, then
every change of it and every fill, so a process killed at any instant leaves a record of what
it may have sent. A restart reads the day back (`day`) and resumes from it: orders are adopted
by id and never sent twice. Implementations: repositories/order_journal.py (the database) and
its in-memory twin, run against one contract suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mismarterad.core.orders import Fill, Order

__all__ = ["DayJournal", "JournaledFill", "OrderJournal"]


@dataclass(frozen=True, slots=True)
class JournaledFill:
    fill: Fill
    applied_utc: datetime | None  # the end of the step whose positions first counted it


@dataclass(frozen=True, slots=True)
class DayJournal:
    """What earlier day-runs of one trading day journaled: orders by id order, fills as booked."""

    orders: tuple[Order, ...] = ()
    fills: tuple[JournaledFill, ...] = ()


class OrderJournal(Protocol):
    def record(self, orders: Sequence[Order]) -> None:
        """Insert or advance (core/order_states.py) these orders; committed when it returns."""
        ...

    def record_fills(self, fills: Sequence[Fill], applied_utc: datetime | None) -> list[Fill]:
        """Book fills not booked yet (by order and execution id); committed when it returns.
        Returns the ones that were new."""
        ...

    def mark_applied(self, fills: Sequence[Fill], applied_utc: datetime) -> None:
        """Stamp booked fills that no step had counted yet (booked during a catch-up, counted at
        its end) with the step that counted them; a stamp once set is kept. Committed when it returns."""
        ...

    def day(self, id_prefix: str) -> DayJournal:
        """Everything journaled under an id prefix (one day of one session on this account)."""
        ...

    def known(self, client_order_ids: Sequence[str]) -> set[str]:
        """Which of these ids this account's journal holds (any day)."""
        ...
