"""The venue bar feeds under the bar feed contract: an AlpacaBarFeed or SchwabBarFeed on a real
emulator process that replays the contract's stored bars on its own replay clock.

Two clocks must agree: the emulator's (it streams each bar when its clock passes the bar's end)
and the one the contract reads (ours, which the feed uses too). The emulator starts a minute
before the contract's first bar; once its clock is inside that first minute, ours is started
from its reading, a few seconds ahead (so a bar never looks early) and at the same speed.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mismarterad.core.bar_feed import BarFeed
from mismarterad.core.clock import ReplayClock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.alpaca import (
    AlpacaBarFeed,
    AlpacaCredentials,
    AlpacaEndpoints,
    AlpacaSource,
    RetryPolicy,
)
from mismarterad.integrations.schwab import SchwabBarFeed, SchwabSource
from support.alpaca_emulator import AlpacaEmulator, start_emulator
from support.emulator_process import EmulatorProcess, write_store
from support.schwab_emulator import SchwabEmulator, start_schwab_emulator

SPEED = 300.0  # a minute every 0.2 s: the emulator's clock cannot be read closer than a few ms
_LEAD = timedelta(seconds=5)
RETRY = RetryPolicy(max_attempts=3, initial_backoff_secs=0.05, max_backoff_secs=0.1, max_total_secs=2.0)


class VenueFeedRig:
    def __init__(self, emulator: EmulatorProcess, root: Path, feed: BarFeed, clock: ReplayClock,
                 close_feed: Callable[[], None] = lambda: None) -> None:
        self.emulator, self.root, self.feed, self.clock, self._close_feed = emulator, root, feed, clock, close_feed

    def close(self) -> None:
        try:
            self._close_feed()
        finally:
            self.emulator.stop()
            shutil.rmtree(self.root, ignore_errors=True)


def _start(bars: Iterable[Bar], first_minute: datetime, start: Callable[[Path, str], EmulatorProcess],
           make_feed: Callable[[Any, ReplayClock], tuple[BarFeed, Callable[[], None]]]) -> VenueFeedRig:
    root = Path(tempfile.mkdtemp(prefix="feed-contract-"))
    write_store(root / "data", bars)
    emulator = start(root, (first_minute - timedelta(minutes=1)).isoformat())
    try:
        clock = _clock_inside(emulator, first_minute + timedelta(seconds=20))
        feed, close_feed = make_feed(emulator, clock)
        return VenueFeedRig(emulator, root, feed, clock, close_feed)
    except BaseException:
        emulator.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise


def start_alpaca_feed(bars: Iterable[Bar], first_minute: datetime) -> VenueFeedRig:
    def start(root: Path, clock_start: str) -> AlpacaEmulator:
        return start_emulator(root / "data", root / "state", clock_start=clock_start, speed=SPEED)

    def make(emulator: AlpacaEmulator, clock: ReplayClock) -> tuple[BarFeed, Callable[[], None]]:
        endpoints = AlpacaEndpoints.derive(emulator.base_url, paper=True, feed="iex")
        creds = AlpacaCredentials(emulator.key_id, emulator.secret)
        source = AlpacaSource(creds, endpoints, clock=clock, retry=RETRY)
        return AlpacaBarFeed(creds, endpoints, clock, source, gap_max_retries=1, gap_retry_interval_secs=1.0), \
            lambda: None

    return _start(bars, first_minute, start, make)


def start_schwab_feed(bars: Iterable[Bar], first_minute: datetime) -> VenueFeedRig:
    def start(root: Path, clock_start: str) -> SchwabEmulator:
        return start_schwab_emulator(root / "data", root / "state", clock_start=clock_start, speed=SPEED)

    def make(emulator: SchwabEmulator, clock: ReplayClock) -> tuple[BarFeed, Callable[[], None]]:
        session = emulator.session()
        source = SchwabSource(session, clock, retry=RETRY)
        return SchwabBarFeed(session, clock, source, gap_max_retries=1, gap_retry_interval_secs=1.0), session.close

    return _start(bars, first_minute, start, make)


def _clock_inside(emulator: EmulatorProcess, not_before: datetime) -> ReplayClock:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        asked = time.monotonic()
        now = emulator.now().astimezone(UTC)
        answered = time.monotonic()
        if now >= not_before:
            since = timedelta(seconds=(answered - asked) * SPEED)  # the reading is at most this old
            return ReplayClock(now + since + _LEAD, SPEED)
        time.sleep(min(0.05, (not_before - now).total_seconds() / SPEED / 2))
    raise AssertionError("the emulator's clock did not reach the first minute")
