"""Where a day-run trades and where its live bars come from, chosen by the daemon's `broker`.

* paper: the daemon's paper account (runs/paper_account.py), which keeps its cash and positions
  across days and restarts; each day-run gets a fresh paper broker opened at the day's opening
  balance, fed by the store replayed on the daemon's clock. A restart rebuilds the broker from
  the day's order journal (it is simulated); a day-run that traded the whole day saves its balance.
* alpaca, schwab: the real account through `integrations/alpaca` or `integrations/schwab`, its
  bar stream, and its REST history for the days the store lacks (a LiveVenue). Each day-run gets
  its own broker and feed (their threads end with it); the venue adds their counters up for the
  daemon's lifetime, and reports the Schwab token's age.

The credentials are read once, when the daemon loads its config, so a missing variable or a
world-readable file (or Schwab token file) stops the start with exit 78 instead of failing the
first session.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

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
from mismarterad.integrations.store_replay_feed import StoreReplayFeed
from mismarterad.repositories.order_journal import SqlOrderJournal
from mismarterad.runs.app import App
from mismarterad.runs.paper_account import PaperAccount
from mismarterad.runs.session_pipeline import make_paper_broker
from mismarterad.services.order_ids import day_prefix

if TYPE_CHECKING:  # a daemon imports only its own venue's adapter (start-up time: a restart resumes sooner)
    from mismarterad.integrations.alpaca import AlpacaCredentials
    from mismarterad.integrations.bar_delivery import FeedStats
    from mismarterad.integrations.schwab import SchwabCredentials

__all__ = ["DayVenue", "LiveConnection", "LiveVenue", "Venue", "build_venue"]

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


@dataclass(frozen=True)
class LiveConnection:
    """What a live adapter opened for one day-run: closed together by `close`."""

    broker: LiveBroker
    feed: LiveFeed
    history: MarketDataSource
    close: Callable[[], None]


class LiveBroker(Broker, Protocol):
    @property
    def reconnects(self) -> int: ...


class LiveFeed(BarFeed, Protocol):
    def stats(self) -> FeedStats: ...


@dataclass(frozen=True)
class GapSettings:
    """How a live feed fills gaps and watches stalls, from the session config and the day."""

    max_retries: int
    retry_interval_secs: float
    stall_intervals: int
    in_session: Callable[[datetime], bool]

    @classmethod
    def of(cls, config: SessionConfig, session: TradingSession) -> GapSettings:
        gaps = config.session_data_config.gap_filler
        opens, closes = session.regular_open, session.regular_close
        return cls(gaps.max_retries, float(gaps.retry_interval_seconds), STALL_INTERVALS,
                   # gaps and stalls count in the regular session only
                   lambda t: opens is not None and closes is not None and opens <= t < closes)


class LiveVenue:
    """A real account through one adapter (`connect` opens it for a day-run). `status()` may be
    called from any thread (metrics, the socket); `token_age()` is read at each call (an OAuth
    login's age on the wall clock, None where credentials do not age), in and out of sessions."""

    def __init__(self, name: str, account: str, connect: Callable[[SessionConfig, TradingSession], LiveConnection],
                 token_age: Callable[[], float | None] = lambda: None) -> None:
        self._name, self._account, self._connect, self._token_age = name, account, connect, token_age
        self._lock = threading.Lock()
        self._day: LiveConnection | None = None
        self._before = VenueStatus(broker=name)  # the counters of the day-runs already closed
        self._connected = True  # until a day-run says otherwise

    @property
    def name(self) -> str:
        return self._name

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
        """An earlier day-run's orders are adopted by the resume, never canceled here."""
        self.close_day()
        try:
            day = self._connect(config, session)  # wrong keys or no route: the start fails now, before any order
        except BaseException:
            with self._lock:
                self._connected = False
            raise
        with self._lock:
            self._day, self._connected = day, True
        return DayVenue(day.broker, day.feed, day.history)

    def close_day(self, whole_day: bool = False) -> None:
        with self._lock:
            day = self._day
        if day is None:
            return
        status = self.status()  # before the close: a closed stream is not a lost connection
        day.close()  # the feed's subscription ended with the day-run's coordinator
        with self._lock:
            self._before, self._connected = replace(status, connected=True), status.connected
            self._day = None

    def status(self) -> VenueStatus:
        with self._lock:
            day, before, connected = self._day, self._before, self._connected
        if day is None:
            return replace(before, connected=connected, token_age_secs=self._token_age())
        stats = day.feed.stats()
        return VenueStatus(
            broker=self._name, connected=day.broker.connected and stats.connected,
            data_reconnects=before.data_reconnects + stats.reconnects,
            trading_reconnects=before.trading_reconnects + day.broker.reconnects,
            stalls=before.stalls + stats.stalls, gaps_filled=before.gaps_filled + stats.gaps_filled,
            gaps_unfilled=before.gaps_unfilled + stats.gaps_unfilled, token_age_secs=self._token_age())


def alpaca_venue(daemon: DaemonConfig, credentials: AlpacaCredentials, clock: Clock) -> LiveVenue:
    """The Alpaca account (paper or live): its trade-updates stream is started and its keys are
    checked at each day-run's start."""
    from mismarterad.integrations.alpaca import AlpacaBarFeed, AlpacaBroker, AlpacaEndpoints, AlpacaSource

    settings = daemon.alpaca
    endpoints = AlpacaEndpoints.derive(settings.endpoint, settings.paper, settings.feed)

    def connect(config: SessionConfig, session: TradingSession) -> LiveConnection:
        gaps = GapSettings.of(config, session)
        source = AlpacaSource(credentials, endpoints, feed=settings.feed, clock=clock)
        broker = AlpacaBroker(credentials, endpoints, clock)
        try:  # what is opened is closed again if anything after it fails: the trade stream's thread
            broker.verify()
            broker.start()
            feed = AlpacaBarFeed(credentials, endpoints, clock, source, feed=settings.feed,
                                 gap_max_retries=gaps.max_retries, gap_retry_interval_secs=gaps.retry_interval_secs,
                                 stall_intervals=gaps.stall_intervals, in_session=gaps.in_session)
        except BaseException:
            broker.close()
            raise
        log.info("alpaca_connected", trading=endpoints.trading_rest, feed=settings.feed)
        return LiveConnection(broker, feed, source, broker.close)

    return LiveVenue("alpaca", "alpaca-paper" if settings.paper else "alpaca-live", connect)


def schwab_venue(daemon: DaemonConfig, credentials: SchwabCredentials, state_dir: Path, clock: Clock) -> LiveVenue:
    """The Schwab account: at each day-run's start the token's age is checked (one that expires
    before the session's close, plus a margin, is refused, saying what to run), the account's
    hash looked up and the account read."""
    from mismarterad.integrations.schwab import LEDGER_FILE_NAME, TOKEN_FILE_NAME, SchwabEndpoint, SchwabSettings
    from mismarterad.integrations.schwab import TokenFile
    from mismarterad.integrations.schwab import connect as connect_schwab

    settings = daemon.schwab
    assert settings is not None
    schwab = SchwabSettings(settings.account_number, TokenFile(settings.token_file or state_dir / TOKEN_FILE_NAME),
                            state_dir / LEDGER_FILE_NAME, SchwabEndpoint.derive(settings.endpoint))

    def connect(config: SessionConfig, session: TradingSession) -> LiveConnection:
        gaps = GapSettings.of(config, session)
        # the token must last the day-run: to the close and the lag after it (its orders, fills and
        # reconciliation), at least 5 minutes; no longer, so a restart late in the day is not
        # refused on a token that still outlives everything the day-run will do
        opened = connect_schwab(credentials, schwab, clock, close=session.regular_close,
                                after_close_secs=max(daemon.lag_minutes, 5) * 60.0)
        try:  # what is opened is closed again if anything after it fails: the session's HTTP client
            feed = opened.feed(clock, gap_max_retries=gaps.max_retries,
                               gap_retry_interval_secs=gaps.retry_interval_secs,
                               stall_intervals=gaps.stall_intervals, in_session=gaps.in_session)
        except BaseException:
            opened.close()
            raise
        log.info("schwab_connected", host=schwab.endpoint.host, token_age_days=round(
            opened.session.token_age_secs() / 86_400, 2))
        return LiveConnection(opened.broker, feed, opened.source, opened.close)

    def token_age() -> float | None:
        try:
            return schwab.token_file.age_secs()
        except ConfigError:  # gone or unreadable: no age to show (the next start says what to run)
            return None

    return LiveVenue("schwab", "schwab", connect, token_age)


def build_venue(daemon: DaemonConfig, app: App, environ: Mapping[str, str] | None = None) -> Venue:
    """The daemon's venue on `app`'s clock, store and database; raises ConfigError (exit 78) for
    credentials that are missing or readable by others (and a Schwab token file likewise)."""
    env = os.environ if environ is None else environ
    if daemon.broker == "alpaca":
        from mismarterad.integrations.alpaca import load_alpaca_credentials

        credentials = load_alpaca_credentials(env, daemon.alpaca.credentials_file)
        try:
            return alpaca_venue(daemon, credentials, app.clock)
        except ValueError as exc:  # an endpoint the adapter refuses (Alpaca's own hosts, clear text)
            raise ConfigError(f"alpaca.endpoint: {exc}") from None
    if daemon.broker == "schwab":
        from mismarterad.integrations.schwab import TOKEN_FILE_NAME, TokenFile, load_schwab_credentials

        assert daemon.schwab is not None
        schwab_credentials = load_schwab_credentials(env, daemon.schwab.credentials_file)
        state_dir = app.settings.state_dir
        TokenFile(daemon.schwab.token_file or state_dir / TOKEN_FILE_NAME).read()  # there, private, a token: or exit 78
        try:
            return schwab_venue(daemon, schwab_credentials, state_dir, app.clock)
        except ValueError as exc:  # an endpoint the adapter refuses (Schwab's own hosts, clear text)
            raise ConfigError(f"schwab.endpoint: {exc}") from None
    return PaperVenue(daemon, app)
