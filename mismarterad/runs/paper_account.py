"""PaperAccount: the daemon's paper account (broker = "paper"), kept across days and restarts.

The paper broker is simulated: every day-run builds a fresh one, opened at the day's opening,
and a restart rebuilds it from the day's order journal as its catch-up replays the day
(docs/decisions.md, "The paper account is its journal"). So what persists is each day's
*opening* balance, fixed by the day's first day-run, and the day's *end*:

* a day-run that traded the whole day (its pipeline caught up with the clock, so its broker
  booked every fill an earlier day-run of the day made) saves its broker's balance as the
  day's closing when it settles;
* a day without a closing (its last day-run was killed, or stopped while still replaying) ends
  at its opening plus the fills the order journal booked for it, in booking order, each
  execution once, computed as the paper broker books them (core/paper_account.py). The
  journal commits each fill before it counts anywhere, so a kill at any instant loses none and
  counts none twice.

The next day opens at the end of the newest day before it; a new account, or one reset by
`mismarterctl paper reset`, opens at the `[paper] initial_cash` it was opened with.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime

import structlog

from mismarterad.core.journal import DayJournal
from mismarterad.core.paper_account import PaperAccountStore, PaperBalance, PaperDay

__all__ = ["PaperAccount"]

log = structlog.get_logger(component="paper_account")


class PaperAccount:
    """One paper account; its methods may be called from any thread."""

    def __init__(self, store: PaperAccountStore, journal_day: Callable[[str], DayJournal], starting_cash: float,
                 name: str = "paper") -> None:
        """`starting_cash`: what a new account opens with; `journal_day`: the account's order
        journal under an id prefix (read only)."""
        self._store, self._journal_day, self._starting_cash, self.name = store, journal_day, starting_cash, name
        self._lock = threading.Lock()
        self._balance: PaperBalance | None = None  # the account now, as stored (None: read it again)
        self._unreadable = False

    def open_day(self, day: date, id_prefix: str, now_utc: datetime) -> PaperDay:
        """A day-run of `day` starts: the day as stored, with the balance its broker opens with
        and the prefix of its order ids (the first day-run's again for a restart, even if the
        session was renamed since: the day's journal, and so its money, is under that prefix)."""
        with self._lock:
            held = self._store.day(self.name, day)
            if held is None:
                before = self._store.latest_day(self.name, before=day)
                opening = self._end_of(before) if before is not None else self._new_account(now_utc)
                source = before.day.isoformat() if before is not None else "new account"
            else:
                opening, source = held.opening, "restart"
            stored = self._store.begin_day(self.name, day, id_prefix, opening)
            self._balance = None  # the day trades now; what it ends with is read again afterwards
        if stored.id_prefix != id_prefix:
            log.warning("paper_day_prefix_kept", day=day.isoformat(), id_prefix=stored.id_prefix,
                        session_prefix=id_prefix, note="session_name changed since the day's first day-run: the "
                        "day's orders keep its first prefix, so the account keeps the day's earlier fills")
        log.info("paper_day_opened", day=day.isoformat(), source=source, cash=stored.opening.cash,
                 equity=stored.opening.equity, positions={p.symbol: p.quantity for p in stored.opening.positions})
        return stored

    def close_day(self, day: date, closing: PaperBalance | None) -> None:
        """A day-run of `day` stopped. `closing`: its broker's balance if it traded the whole
        day, else None (the day ends at its opening plus its journaled fills)."""
        with self._lock:
            self._balance = None
            if closing is not None:
                self._store.close_day(self.name, day, closing)
        if closing is not None:
            log.info("paper_day_closed", day=day.isoformat(), cash=closing.cash, equity=closing.equity,
                     positions={p.symbol: p.quantity for p in closing.positions})

    def balance(self) -> PaperBalance | None:
        """The account as stored now (positions at their average cost); None if the database
        cannot be read (logged once until it can again)."""
        with self._lock:
            try:
                balance = self._current()
            except Exception as exc:  # noqa: BLE001 - status and metrics answer without it
                if not self._unreadable:
                    log.error("paper_account_unreadable", error=f"{type(exc).__name__}: {exc}")
                self._unreadable = True
                return None
            self._unreadable = False
            return balance

    def reset(self, starting_cash: float, now_utc: datetime, by: str) -> PaperBalance:
        """Start the account again at `starting_cash` (the config's now), with no positions."""
        with self._lock:
            before = self._current()
            self._store.open(self.name, starting_cash, now_utc)
            self._balance = PaperBalance(starting_cash)
        log.info("paper_account_reset", by=by, cash=starting_cash, previous_cash=before.cash,
                 previous_positions={p.symbol: p.quantity for p in before.positions})
        return self._balance

    def _current(self) -> PaperBalance:
        if self._balance is None:
            newest = self._store.latest_day(self.name)
            if newest is not None:
                self._balance = self._end_of(newest)
            else:
                opened = self._store.opened(self.name)
                self._balance = PaperBalance(opened.starting_cash if opened is not None else self._starting_cash)
        return self._balance

    def _new_account(self, now_utc: datetime) -> PaperBalance:
        opened = self._store.opened(self.name)
        if opened is None:
            self._store.open(self.name, self._starting_cash, now_utc)
            return PaperBalance(self._starting_cash)
        return PaperBalance(opened.starting_cash)

    def _end_of(self, day: PaperDay) -> PaperBalance:
        if day.closing is not None:
            return day.closing
        balance = day.opening
        for journaled in self._journal_day(day.id_prefix).fills:
            balance = balance.after(journaled.fill)
        return balance
