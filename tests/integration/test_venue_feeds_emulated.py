"""The venue bar feeds (Alpaca's, Schwab's) on their emulators: bars in order with skipped
minutes fetched back from the venue's history, a dropped stream reconnected (Schwab's logged in
and subscribed again by the adapter itself) and counted, and refused credentials ending the
subscription with what to check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mismarterad.core.bar_feed import BarFeed
from mismarterad.core.clock import ReplayClock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.alpaca import AlpacaBarFeed, AlpacaCredentials, AlpacaEndpoints, AlpacaSource
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.integrations.schwab import SchwabBarFeed, SchwabSource
from support.alpaca_emulator import start_emulator
from support.emulator_process import EmulatorProcess, wait_until, write_store
from support.schwab_emulator import start_schwab_emulator

FEED_START = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)  # 09:30 New York, a Tuesday
SPEED = 30.0
FAST = RetryPolicy(max_attempts=4, initial_backoff_secs=0.05, max_backoff_secs=0.2, jitter_secs=0.0,
                   max_total_secs=3.0)


@dataclass
class Venue:
    start: Callable[[Path, Path], EmulatorProcess]
    feed: Callable[[Any, ReplayClock, bool], tuple[BarFeed, Callable[[], None]]]  # (emulator, clock, refused)
    hint: str  # what a refusal says to check


def _alpaca_feed(emu: Any, clock: ReplayClock, refused: bool) -> tuple[BarFeed, Callable[[], None]]:
    endpoints = AlpacaEndpoints.derive(emu.base_url, paper=True, feed="iex")
    creds = AlpacaCredentials(emu.key_id, "not-the-secret" if refused else emu.secret)
    source = AlpacaSource(creds, endpoints, clock=clock, retry=FAST)
    return AlpacaBarFeed(creds, endpoints, clock, source, gap_max_retries=1, gap_retry_interval_secs=1.0), \
        lambda: None


def _schwab_feed(emu: Any, clock: ReplayClock, refused: bool) -> tuple[BarFeed, Callable[[], None]]:
    if refused:
        emu.fault("expire_refresh_token")
    session = emu.session()
    source = SchwabSource(session, clock, retry=FAST)
    return SchwabBarFeed(session, clock, source, gap_max_retries=1, gap_retry_interval_secs=1.0), session.close


VENUES = {
    "alpaca": Venue(lambda data, state: start_emulator(data, state, clock_start=FEED_START.isoformat(), speed=SPEED),
                    _alpaca_feed, "APCA_API_KEY_ID"),
    "schwab": Venue(lambda data, state: start_schwab_emulator(data, state, clock_start=FEED_START.isoformat(),
                                                              speed=SPEED),
                    _schwab_feed, "mismarterad auth schwab"),
}


@pytest.fixture(params=sorted(VENUES))
def venue(request: pytest.FixtureRequest) -> Venue:
    return VENUES[request.param]


@pytest.fixture
def emulator(tmp_path: Path, venue: Venue) -> Iterator[EmulatorProcess]:
    write_store(tmp_path / "data", [Bar(s, "1m", FEED_START + timedelta(minutes=i), 10 + i, 11 + i, 9 + i, 10.5 + i, 100)
                                    for s in ("SPY", "QQQ") for i in range(30)])
    emu = venue.start(tmp_path / "data", tmp_path / "state")
    yield emu
    emu.stop()


def _feed(venue: Venue, emu: EmulatorProcess, refused: bool = False) -> tuple[BarFeed, Callable[[], None]]:
    clock = ReplayClock(emu.now() + timedelta(seconds=3), SPEED)  # a little ahead: bars never look early
    return venue.feed(emu, clock, refused)


def test_feed_delivers_in_order_and_fills_skipped_minutes_from_the_history(venue: Venue,
                                                                           emulator: EmulatorProcess) -> None:
    feed, close = _feed(venue, emulator)
    seen: list[Bar] = []
    sub = feed.subscribe(("SPY", "QQQ"), seen.append)
    try:
        wait_until(lambda: len(seen) >= 4, timeout=20)
        emulator.fault("skip_bars", count=2)  # two minutes never streamed
        wait_until(lambda: len(seen) >= 14, timeout=30)
        keys = [(b.start_utc, b.symbol) for b in seen]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        minutes = sorted({b.start_utc for b in seen})
        assert minutes == [minutes[0] + timedelta(minutes=i) for i in range(len(minutes))], "no hole"
        stats = feed.stats()  # type: ignore[attr-defined]
        assert stats.gaps_filled == 4 and stats.gaps_unfilled == 0 and stats.connected
        assert stats.last_bar_utc == seen[-1].start_utc
    finally:
        sub.stop()
        close()
    assert not sub.active and sub.error is None


def test_feed_counts_a_reconnect_after_a_dropped_stream_and_bars_flow_again(venue: Venue,
                                                                            emulator: EmulatorProcess) -> None:
    feed, close = _feed(venue, emulator)
    seen: list[Bar] = []
    sub = feed.subscribe(("SPY",), seen.append)
    stats = feed.stats  # type: ignore[attr-defined]
    try:
        wait_until(lambda: stats().connected and len(seen) >= 1, timeout=10)
        emulator.fault("drop_stream", stream="data")
        wait_until(lambda: stats().reconnects == 1 and stats().connected, timeout=20)
        count = len(seen)
        wait_until(lambda: len(seen) >= count + 2, timeout=20)  # subscribed anew
    finally:
        sub.stop()
        close()


def test_feed_with_refused_credentials_ends_its_subscription_saying_what_to_check(
        venue: Venue, emulator: EmulatorProcess) -> None:
    feed, close = _feed(venue, emulator, refused=True)
    sub = feed.subscribe(("SPY",), lambda bar: None)
    try:
        wait_until(lambda: not sub.active, timeout=15)
        assert sub.error is not None and venue.hint in sub.error and "not-the-secret" not in sub.error
    finally:
        sub.stop()
        close()


@pytest.fixture
def schwab_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    write_store(tmp_path / "data", [Bar("SPY", "1m", FEED_START + timedelta(minutes=i), 10 + i, 11 + i, 9 + i,
                                        10.5 + i, 100) for i in range(30)])
    emu = VENUES["schwab"].start(tmp_path / "data", tmp_path / "state")
    yield emu
    emu.stop()


@pytest.mark.parametrize("code", [11, 12, 9, 57])
def test_schwab_streamer_codes_but_the_refusals_are_logged_in_again_after_the_backoff(
        schwab_emulator: EmulatorProcess, code: int) -> None:
    """11 SERVICE_NOT_AVAILABLE, 12 CLOSE_CONNECTION, 9 UNKNOWN_FAILURE, a code nobody listed:
    schwab-py raises for them as for a refusal; the stream backs off and logs in again instead
    of failing the day-run."""
    schwab_emulator.fault("streamer_login_code", code=code, count=2)
    feed, close = _feed(VENUES["schwab"], schwab_emulator)
    seen: list[Bar] = []
    sub = feed.subscribe(("SPY",), seen.append)
    try:
        wait_until(lambda: len(seen) >= 2, timeout=20)
        assert sub.active and sub.error is None
        logins = [r for r in schwab_emulator.requests() if r["path"] == "/trader/v1/userPreference"]
        assert len(logins) == 3, "two answered with the code, the third logged in"
    finally:
        sub.stop()
        close()


def test_schwab_streamer_login_denied_ends_the_subscription_saying_what_to_run(
        schwab_emulator: EmulatorProcess) -> None:
    schwab_emulator.fault("streamer_login_code", code=3)
    feed, close = _feed(VENUES["schwab"], schwab_emulator)
    sub = feed.subscribe(("SPY",), lambda bar: None)
    try:
        wait_until(lambda: not sub.active, timeout=15)
        assert sub.error is not None and "code 3 LOGIN_DENIED" in sub.error, sub.error
        assert "mismarterad auth schwab" in sub.error
        logins = [r for r in schwab_emulator.requests() if r["path"] == "/trader/v1/userPreference"]
        assert len(logins) == 1, "a login denied is not asked again"
    finally:
        sub.stop()
        close()
