"""Where a day-run trades and where its live bars come from, chosen by the daemon's `broker`.

* paper: a fresh paper account each day-run, fed by the store replayed on the daemon's clock.
  A restart rebuilds the account by replaying the day (the broker is simulated).
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
from typing import Protocol

import structlog

from mismarterad.config.daemon_config import DaemonConfig
from mismarterad.config.session_config import SessionConfig
from mismarterad.core.bar_feed import BarFeed
from mismarterad.core.bar_store import BarStore
from mismarterad.core.broker import Broker
from mismarterad.core.calendar import TradingSession
from mismarterad.core.clock import Clock
from mismarterad.core.errors import ConfigError
from mismarterad.core.market_data_source import MarketDataSource
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
from mismarterad.runs.session_pipeline import make_paper_broker

__all__ = ["DayVenue", "Venue", "build_venue"]

log = structlog.get_logger(component="venue")

STALL_INTERVALS = 3  # minutes without a bar on a healthy-looking data stream: a stall


@dataclass(frozen=True)
class DayVenue:
    """What one day-run trades on: its broker, its bar feed, and where missing history comes from."""

    broker: Broker
    feed: BarFeed
    history: MarketDataSource | None  # None: the store is the only source (the paper venue)


class Venue(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def account(self) -> str:
        """The account's name in the order journal: its client order ids are unique within it."""
        ...

    @property
    def simulated(self) -> bool:
        """Whether each day-run's account is rebuilt by replaying the day (the paper venue)."""
        ...

    def open_day(self, config: SessionConfig, session: TradingSession) -> DayVenue:
        """Connect for a day-run of `session`: check the keys, start the streams. Raises
        BrokerError (the session start fails and is retried) or ConfigError."""
        ...

    def close_day(self) -> None:
        """The day-run has settled: stop its streams (idempotent)."""
        ...

    def status(self) -> VenueStatus: ...


class PaperVenue:
    def __init__(self, daemon: DaemonConfig, store: BarStore, clock: Clock) -> None:
        self._daemon, self._store, self._clock = daemon, store, clock

    @property
    def name(self) -> str:
        return "paper"

    @property
    def account(self) -> str:
        return "paper"

    @property
    def simulated(self) -> bool:
        return True

    def open_day(self, config: SessionConfig, session: TradingSession) -> DayVenue:
        return DayVenue(make_paper_broker(config, self._daemon.risk), StoreReplayFeed(self._store, self._clock), None)

    def close_day(self) -> None:
        pass

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

    def close_day(self) -> None:
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


def build_venue(daemon: DaemonConfig, store: BarStore, clock: Clock,
                environ: Mapping[str, str] | None = None) -> Venue:
    """The daemon's venue; raises ConfigError (exit 78) for credentials that are missing or
    readable by others."""
    if daemon.broker == "alpaca":
        credentials = load_alpaca_credentials(os.environ if environ is None else environ,
                                              daemon.alpaca.credentials_file)
        try:
            return AlpacaVenue(daemon, credentials, clock)
        except ValueError as exc:  # an endpoint the adapter refuses (Alpaca's own hosts, clear text)
            raise ConfigError(f"alpaca.endpoint: {exc}") from None
    return PaperVenue(daemon, store, clock)
