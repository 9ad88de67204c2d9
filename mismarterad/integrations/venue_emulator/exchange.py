"""The emulated venue's one way in: account, calendar, faults and persistence behind one lock.

REST handlers (on the server's event loop) and the market thread both call these methods; each
runs its account step under the lock, saves the account if it changed, and only then hands the
resulting trade updates and bars to the publisher, outside the lock, so a slow socket never
holds up the book. The publisher keeps the order of everything handed to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from mismarterad.core.bar_store import BarStore
from mismarterad.core.clock import Clock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.venue_emulator.account import Account
from mismarterad.integrations.venue_emulator.faults import FaultBook
from mismarterad.integrations.venue_emulator.sessions import Session, Sessions
from mismarterad.integrations.venue_emulator.state_store import StateStore
from mismarterad.integrations.venue_emulator.values import EmulatedOrder, OrderSpec, TradeUpdate

__all__ = ["Exchange", "Publisher"]

_T = TypeVar("_T")
_PRICE_LOOKBACK = timedelta(days=10)  # how far back a reference price for a market buy is sought
_ONE_MINUTE = timedelta(minutes=1)


class Publisher(Protocol):
    """Where trade updates and streamed bars go (the websocket hubs); callable from any thread."""

    def trade_updates(self, updates: Sequence[TradeUpdate]) -> None: ...

    def bars(self, bars: Sequence[Bar]) -> None: ...

    def reverse_order(self, order_id: str) -> None:
        """Hold this order's updates and send them newest first once it is done (a fault)."""
        ...


class Exchange:
    """See the module docstring."""

    def __init__(self, account: Account, state: StateStore, sessions: Sessions, clock: Clock, store: BarStore,
                 faults: FaultBook, publisher: Publisher) -> None:
        self.account = account
        self.sessions = sessions
        self.clock = clock
        self.store = store
        self.faults = faults
        self.publisher = publisher
        self.created_utc = clock.now()
        self._state = state
        self._saved_version = account.version
        self._lock = threading.Lock()

    def read(self, query: Callable[[Account], _T]) -> _T:
        """Run a read-only `query` on the account under the lock."""
        with self._lock:
            return query(self.account)

    # --- orders (REST) -----------------------------------------------------------------

    def submit(self, spec: OrderSpec) -> EmulatedOrder:
        """Book an order (OrderError if refused); injected order faults apply to it."""
        with self._lock:
            now = self.clock.now()
            reference = self.account.last_price.get(spec.symbol) or self._stored_price(spec.symbol, now)
            order, updates = self.account.submit(spec, now, self.sessions.phase(now), reference)
            reject, fraction, reverse = self.faults.take_order_faults()
            if fraction is not None:
                self.account.plan_partial(order.id, fraction)
            if reject:
                updates += self.account.reject(order.id, now)
            self._save()
        if reverse:
            self.publisher.reverse_order(order.id)
        self.publisher.trade_updates(updates)
        return order

    def cancel(self, order_id: str) -> None:
        with self._lock:
            _, updates = self.account.cancel(order_id, self.clock.now())
            self._save()
        self.publisher.trade_updates(updates)

    def cancel_all(self) -> list[EmulatedOrder]:
        with self._lock:
            updates = self.account.cancel_all(self.clock.now())
            self._save()
        self.publisher.trade_updates(updates)
        return [u.order for u in updates]

    # --- market events (the market thread, or bars injected by tests) --------------------

    def step(self, bars: Sequence[Bar], regular: bool) -> None:
        """One minute: match orders, publish their updates, then the bars (unless a fault silences them)."""
        with self._lock:
            updates = self.account.on_bars(bars, regular)
            self._save()
        self.publisher.trade_updates(updates)
        if bars and not self.faults.take_silent_minute():
            self.publisher.bars(bars)

    def open_session(self, session: Session, now_utc: datetime) -> None:
        with self._lock:
            updates = self.account.open_session(session.day, now_utc)
            self._save()
        self.publisher.trade_updates(updates)

    def close_session(self, session: Session, last_bars: Sequence[Bar], at_utc: datetime | None = None) -> None:
        """Run `session`'s close; its fills and expiries are stamped `at_utc` (default: the close)."""
        with self._lock:
            updates = self.account.close_session(session.day, last_bars, at_utc or session.close_utc)
            self._save()
        self.publisher.trade_updates(updates)

    def catch_up(self, now_utc: datetime) -> None:
        """At start-up: run the close of a session that ended while the emulator was down."""
        missed = self.sessions.last_closed(now_utc)
        closed = self.account.closed_through
        if missed is None or (closed is not None and closed >= missed.day):
            return
        if not any(o.session_day <= missed.day for o in self.read(Account.open_orders)):
            return
        self.close_session(missed, self.last_regular_bars(missed))

    def last_regular_bars(self, session: Session) -> list[Bar]:
        """Each stored symbol's last regular-session bar of `session` (what cls orders fill at)."""
        out = []
        for symbol in self.symbols():
            found = self.store.read_bars(symbol, "1m", session.open_utc, session.close_utc)
            if found:
                out.append(found[-1])
        return out

    def symbols(self) -> list[str]:
        return sorted({s.symbol for s in self.store.series() if s.interval == "1m"})

    # --- internals ---------------------------------------------------------------------

    def _stored_price(self, symbol: str, now_utc: datetime) -> float | None:
        try:
            bars = self.store.read_bars(symbol, "1m", now_utc - _PRICE_LOOKBACK, now_utc - _ONE_MINUTE)
        except ValueError:  # not a storable symbol: no price, the venue decides nothing from it
            return None
        return bars[-1].close if bars else None

    def _save(self) -> None:
        if self.account.version != self._saved_version:
            self._state.save(self.account)
            self._saved_version = self.account.version
