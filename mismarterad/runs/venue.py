"""Where a day-run trades and where its live bars come from, chosen by the daemon's `broker`.

* paper: the daemon's paper account (runs/paper_account.py), which keeps its cash and positions
  across days and restarts; each day-run gets a fresh paper broker opened at the day's opening
  balance, fed by the store replayed on the daemon's clock. A restart rebuilds the broker from
  the day's order journal (it is simulated); a day-run that traded the whole day saves its balance.
* alpaca: the Alpaca account (paper or live) through `integrations/alpaca`, its data stream,
  and its REST history for the days the store lacks. Each day-run gets its own broker and feed
  (their threads end with it); the venue adds their counters up for the daemon's lifetime.

The credentials are read once, when the daemon loads its config, so a missing variable or a
world-readable file stops the start with exit 78 instead of failing the first session.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import Protocol

import structlog

from mismarterad.config.daemon_config import DaemonConfig
from mismarterad.config.session_config import SessionConfig
from mismarterad.core.bar_feed import BarFeed
from mismarterad.core.broker import Broker
from mismarterad.core.calendar import TradingSession
from mismarterad.core.clock import Clock
from mismarterad.core.errors import ConfigError
from mismarterad.core.market_data_source import MarketDataSource
from mismarterad.core.paper_account import PaperBalance
from mismarterad.core.venue_status import VenueStatus
from mismarterad.integrations.alpaca import (
    AlpacaBarFeed,
    AlpacaBroker,
    AlpacaCredentials,
    AlpacaEndpoints,
    AlpacaSource,
    load_alpaca_credentials,
)
from mismarterad.integrations.store_replay_feed import StoreReplayFeed
from mismarterad.repositories.order_journal import SqlOrderJournal
from mismarterad.runs.app import App
from mismarterad.runs.paper_account import PaperAccount
from mismarterad.runs.session_pipeline import make_paper_broker
from mismarterad.services.order_ids import day_prefix

__all__ = ["DayVenue", "Venue", "build_venue"]

log = structlog.get_logger(component="venue")

STALL_INTERVALS = 3  # minutes without a bar on a healthy-looking data stream: a stall


@dataclass(frozen=True)
class DayVenue:
    """What one day-run trades on: its broker, its bar feed, and where missing history comes from."""

    broker: Broker
    feed: BarFeed
    history: MarketDataSource | None  # None: the store is the only source (the paper venue)
    opening_equity: float | None = None  # the paper account's equity as the day opens (None: a real account)
    id_prefix: str | None = None  # the prefix the day's order ids keep (None: the session's own)


class Venue(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def account(self) -> str:
        """The account's name in the order journal: its client order ids are unique within it."""
        ...

    @property
    def simulated(self) -> bool:
        """Whether each day-run's account lives in the run, rebuilt from the journal by a
        restart (the paper venue)."""
        ...

    @property
    def paper(self) -> PaperAccount | None:
        """The daemon's paper account, kept across days (None: the broker keeps a real account)."""
        ...

    def open_day(self, config: SessionConfig, session: TradingSession) -> DayVenue:
        """Connect for a day-run of `session`: check the keys, start the streams. Raises
        BrokerError (the session start fails and is retried) or ConfigError."""
        ...

    def close_day(self, whole_day: bool = False) -> None:
        """The day-run has settled (or never started): stop its streams (idempotent).
        `whole_day`: its broker traded the whole day so far (its pipeline caught up with the
        clock), so a paper account's balance is saved as the day's end."""
        ...

    def status(self) -> VenueStatus: ...


class PaperVenue:
    def __init__(self, daemon: DaemonConfig, app: App) -> None:
        self._daemon, self._app = daemon, app
        self._day: tuple[date, Broker] | None = None  # the open day-run's day and broker

    @property
    def name(self) -> str:
        return "paper"

    @property
    def account(self) -> str:
        return self._daemon.paper.account  # one per daemon sharing a database (docs/operations.md)

    @property
    def simulated(self) -> bool:
        return True

    @cached_property
    def paper(self) -> PaperAccount:
        app = self._app  # the database is reached at first use, after the daemon migrated it
        return PaperAccount(app.paper_account_repository,
                            lambda prefix: SqlOrderJournal(app.db_sessions, self.account, 0).day(prefix),  # read only
                            self._daemon.paper.initial_cash, self.account)

    def open_day(self, config: SessionConfig, session: TradingSession) -> DayVenue:
        day = self.paper.open_day(session.day, day_prefix(session.day, config.session_name), self._app.clock.now())
        broker = make_paper_broker(config, self._daemon.risk, day.opening)
        self._day = (session.day, broker)
        return DayVenue(broker, StoreReplayFeed(self._app.bar_store, self._app.clock), None, day.opening.equity,
                        day.id_prefix)

    def close_day(self, whole_day: bool = False) -> None:
        if self._day is None:
            return
        (day, broker), self._day = self._day, None
        closing = PaperBalance.of(broker.account().cash, broker.positions()) if whole_day else None
        try:
            self.paper.close_day(day, closing)
        except Exception as exc:  # noqa: BLE001 - the journal still ends the day: nothing is lost
            log.error("paper_day_close_failed", day=day.isoformat(), error=f"{type(exc).__name__}: {exc}",
                      note="the day ends at its opening plus its journaled fills")

    def status(self) -> VenueStatus:
        return VenueStatus()


class AlpacaVenue:
    """The Alpaca account. `status()` may be called from any thread (metrics, the socket)."""

    def __init__(self, daemon: DaemonConfig, credentials: AlpacaCredentials, clock: Clock) -> None:
        settings = daemon.alpaca
        self._credentials, self._clock, self._feed_name = credentials, clock, settings.feed
        self._endpoints = AlpacaEndpoints.derive(settings.endpoint, settings.paper, settings.feed)
        self._lock = threading.Lock()
        self._broker: AlpacaBroker | None = None
        self._feed: AlpacaBarFeed | None = None
        self._before = VenueStatus(broker="alpaca")  # the counters of the day-runs already closed
        self._connected = True  # until a day-run says otherwise
        self._account = "alpaca-paper" if settings.paper else "alpaca-live"

    @property
    def name(self) -> str:
        return "alpaca"

    @property
    def account(self) -> str:
        return self._account

    @property
    def simulated(self) -> bool:
        return False

    @property
    def paper(self) -> None:
        return None

    def open_day(self, config: SessionConfig, session: TradingSession) -> DayVenue:
        self.close_day()
        source = AlpacaSource(self._credentials, self._endpoints, feed=self._feed_name, clock=self._clock)
        broker = AlpacaBroker(self._credentials, self._endpoints, self._clock)
        try:
            broker.verify()  # wrong keys or no route: the start fails now, before any order exists
            broker.start()  # an earlier day-run's orders are adopted by the resume, never canceled here
        except BaseException:
            broker.close()
            with self._lock:
                self._connected = False
            raise
        gaps = config.session_data_config.gap_filler
        opens, closes = session.regular_open, session.regular_close
        feed = AlpacaBarFeed(self._credentials, self._endpoints, self._clock, source, feed=self._feed_name,
                             gap_max_retries=gaps.max_retries, gap_retry_interval_secs=float(gaps.retry_interval_seconds),
                             stall_intervals=STALL_INTERVALS,  # gaps and stalls count in the regular session only
                             in_session=lambda t: opens is not None and closes is not None and opens <= t < closes)
        with self._lock:
            self._broker, self._feed, self._connected = broker, feed, True
        log.info("alpaca_connected", trading=self._endpoints.trading_rest, feed=self._feed_name)
        return DayVenue(broker, feed, source)

    def close_day(self, whole_day: bool = False) -> None:
        with self._lock:
            broker = self._broker
        if broker is None:
            return
        status = self.status()  # before the close: a closed stream is not a lost connection
        broker.close()  # the feed's subscription ended with the day-run's coordinator
        with self._lock:
            self._before, self._connected = replace(status, connected=True), status.connected
            self._broker = self._feed = None

    def status(self) -> VenueStatus:
        with self._lock:
            broker, feed, before, connected = self._broker, self._feed, self._before, self._connected
        if broker is None or feed is None:
            return replace(before, connected=connected)
        stats = feed.stats()
        return VenueStatus(
            broker="alpaca", connected=broker.connected and stats.connected,
            data_reconnects=before.data_reconnects + stats.reconnects,
            trading_reconnects=before.trading_reconnects + broker.reconnects,
            stalls=before.stalls + stats.stalls, gaps_filled=before.gaps_filled + stats.gaps_filled,
            gaps_unfilled=before.gaps_unfilled + stats.gaps_unfilled)


def build_venue(daemon: DaemonConfig, app: App, environ: Mapping[str, str] | None = None) -> Venue:
    """The daemon's venue on `app`'s clock, store and database; raises ConfigError (exit 78) for
    credentials that are missing or readable by others."""
    if daemon.broker == "alpaca":
        credentials = load_alpaca_credentials(os.environ if environ is None else environ,
                                              daemon.alpaca.credentials_file)
        try:
            return AlpacaVenue(daemon, credentials, app.clock)
        except ValueError as exc:  # an endpoint the adapter refuses (Alpaca's own hosts, clear text)
            raise ConfigError(f"alpaca.endpoint: {exc}") from None
    return PaperVenue(daemon, app)
