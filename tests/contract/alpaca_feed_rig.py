"""The Alpaca bar feed under the bar feed contract: an AlpacaBarFeed on a real emulator process
that replays the contract's stored bars on its own replay clock.

Two clocks must agree: the emulator's (it streams each bar when its clock passes the bar's end)
and the one the contract reads (ours, which the feed uses too). The emulator starts a minute
before the contract's first bar; once its clock is inside that first minute, ours is started
from its reading, a few seconds ahead (so a bar never looks early) and at the same speed.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mismarterad.core.clock import ReplayClock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.alpaca import (
    AlpacaBarFeed,
    AlpacaCredentials,
    AlpacaEndpoints,
    AlpacaSource,
    RetryPolicy,
)
from support.alpaca_emulator import AlpacaEmulator, start_emulator, write_store

SPEED = 300.0  # a minute every 0.2 s: the emulator's clock cannot be read closer than a few ms
_LEAD = timedelta(seconds=5)


class AlpacaFeedRig:
    def __init__(self, emulator: AlpacaEmulator, root: Path, feed: AlpacaBarFeed, clock: ReplayClock) -> None:
        self.emulator, self.root, self.feed, self.clock = emulator, root, feed, clock

    def close(self) -> None:
        self.emulator.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_alpaca_feed(bars: Iterable[Bar], first_minute: datetime) -> AlpacaFeedRig:
    root = Path(tempfile.mkdtemp(prefix="alpaca-feed-contract-"))
    write_store(root / "data", bars)
    emulator = start_emulator(root / "data", root / "state", clock_start=(first_minute - timedelta(minutes=1))
                              .isoformat(), speed=SPEED)
    try:
        clock = _clock_inside(emulator, first_minute + timedelta(seconds=20))
        endpoints = AlpacaEndpoints.derive(emulator.base_url, paper=True, feed="iex")
        creds = AlpacaCredentials(emulator.key_id, emulator.secret)
        retry = RetryPolicy(max_attempts=3, initial_backoff_secs=0.05, max_backoff_secs=0.1, max_total_secs=2.0)
        source = AlpacaSource(creds, endpoints, clock=clock, retry=retry)
        feed = AlpacaBarFeed(creds, endpoints, clock, source, gap_max_retries=1, gap_retry_interval_secs=1.0)
        return AlpacaFeedRig(emulator, root, feed, clock)
    except BaseException:
        emulator.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise


def _clock_inside(emulator: AlpacaEmulator, not_before: datetime) -> ReplayClock:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        asked = time.monotonic()
        now = datetime.fromisoformat(emulator.state()["now"]).astimezone(UTC)
        answered = time.monotonic()
        if now >= not_before:
            since = timedelta(seconds=(answered - asked) * SPEED)  # the reading is at most this old
            return ReplayClock(now + since + _LEAD, SPEED)
        time.sleep(min(0.05, (not_before - now).total_seconds() / SPEED / 2))
    raise AssertionError("the emulator's clock did not reach the first minute")
