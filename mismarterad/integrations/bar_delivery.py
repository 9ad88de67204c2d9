"""A live feed subscription's delivery: a venue stream's minute bars handed on whole and in order.

Shared by the venue feeds (Alpaca, Schwab): the venue's stream (its own thread, its own asyncio
loop) only converts each bar to ours and `put`s it here; the delivery thread hands the bars to
`on_bar` in time order.

Gaps. Every arriving bar of minute `s` says that each subscribed symbol's earlier minutes are
over: a symbol whose next expected minute is before `s` has missing minutes (inside the
session, see `GapPolicy.in_session`), which are fetched at once from the venue's REST history
(its MarketDataSource). An answer that does not hold a minute that has ended is definitive:
nothing traded in it, so it is not asked again. Only a fetch that failed (an outage, a timeout)
is tried again, up to `max_retries` times every `retry_interval_secs` of clock time, and never
past `max_hold_real_secs` (1.5 s) of REAL time from the gap's discovery: the fetches themselves
are cut to that budget too. The bar that revealed the gap (and every later one, still queued)
waits meanwhile, so a gap-filled bar is never delivered after a later one. Then the held bars
go out; the minutes still missing are counted (`gaps_unfilled`) and logged, and not fetched
again. Worst-case added latency: `max_hold_real_secs` of real time per minute whose bars reveal
a gap, whatever the clock's speed; nothing when REST answers at once. (The SessionCoordinator
releases a step at its end + 2 s and drops bars of minutes it has released, so a long hold
would only make every later step late too.)

Stalls. A stream that stays silent for `stall_intervals` minutes of clock time while its socket
looks fine (inside the session) is counted as a stall and its connection is dropped, so it
reconnects.

Stopping. `stop()` sets a flag that the delivery thread checks between bars and between gap
fetches (and that abandons a fetch's retries), then joins it for at most a few seconds.
"""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from mismarterad.core.clock import Clock
from mismarterad.core.errors import MismarteradError
from mismarterad.core.market_data import Bar
from mismarterad.integrations.op_budget import operation_budget
from mismarterad.integrations.stream_watch import StreamWatch

__all__ = ["BarDelivery", "FeedCounters", "FeedStats", "GapPolicy", "GapSource", "LiveBarFeed", "VenueStream",
           "missing_minutes"]

log = structlog.get_logger(component="bar_feed")

MINUTE = timedelta(minutes=1)
_POLL_SECS = 0.1
_CONNECT_WAIT_SECS = 5.0  # real time a subscription waits for the stream's first authorization
_JOIN_SECS = 5.0  # real time stop() waits for the delivery thread
_MIN_FETCH_SECS = 0.05  # less than this left of a hold: no fetch is started


@dataclass(frozen=True, slots=True)
class FeedStats:
    """A feed's counters since it was made (all its subscriptions), read by metrics from any thread."""

    connected: bool
    reconnects: int
    stalls: int
    gaps_filled: int  # missing minutes fetched over REST
    gaps_unfilled: int  # missing minutes delivered around after the retries ran out
    last_bar_utc: datetime | None


@dataclass(frozen=True)
class GapPolicy:
    """How a feed fills gaps and detects stalls (see the module docstring). `in_session(t)` says
    whether `t` is in the regular session (TimeManager's answer): gaps and stalls are watched
    only then."""

    max_retries: int = 3
    retry_interval_secs: float = 5.0
    stall_intervals: int = 3
    max_hold_real_secs: float = 1.5
    in_session: Callable[[datetime], bool] = field(default=lambda _t: True)


def missing_minutes(expected: dict[str, datetime], start_utc: datetime) -> dict[str, list[datetime]]:
    """The minutes each symbol is missing when a bar of minute `start_utc` arrives: from its next
    expected minute up to (not including) `start_utc`."""
    out: dict[str, list[datetime]] = {}
    for symbol, nxt in sorted(expected.items()):
        minutes = []
        while nxt < start_utc:
            minutes.append(nxt)
            nxt += MINUTE
        if minutes:
            out[symbol] = minutes
    return out


class FeedCounters:
    """A feed's counters, added to by its subscriptions' threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stalls = 0
        self.filled = 0
        self.unfilled = 0
        self.last_bar_utc: datetime | None = None
        self.active: set[StreamWatch] = set()  # the streams of subscriptions not yet ended
        self.ended_reconnects = 0

    def stats(self) -> FeedStats:
        """`connected`: every running subscription's stream is authorized (true with none running:
        a subscription that ended is not a lost connection)."""
        with self.lock:
            return FeedStats(connected=all(w.connected for w in self.active),
                             reconnects=self.ended_reconnects + sum(w.reconnects for w in self.active),
                             stalls=self.stalls, gaps_filled=self.filled, gaps_unfilled=self.unfilled,
                             last_bar_utc=self.last_bar_utc)

    def started(self, watch: StreamWatch) -> None:
        with self.lock:
            self.active.add(watch)

    def ended(self, watch: StreamWatch) -> None:
        with self.lock:
            if watch in self.active:
                self.active.discard(watch)
                self.ended_reconnects += watch.reconnects


class GapSource(Protocol):
    """The venue's REST history (its MarketDataSource), whose retries a set `stop` abandons."""

    def fetch_bars(self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime, *,
                   stop: threading.Event | None = None) -> Sequence[Bar]: ...


class VenueStream(Protocol):
    """A venue's bar stream as the delivery sees it (running in its own thread)."""

    @property
    def alive(self) -> bool:
        """Its thread still runs (it reconnects by itself while it does)."""
        ...

    def drop_connection(self) -> None:
        """Close the socket; the stream reconnects (a stall)."""
        ...

    def stop(self) -> None:
        """End the stream and its thread (bounded wait); idempotent."""
        ...


class BarDelivery:
    """One subscription's delivery thread; the venue's stream `put`s bars, see the module docstring."""

    def __init__(self, symbols: Sequence[str], on_bar: Callable[[Bar], None], *, clock: Clock,
                 source: GapSource, policy: GapPolicy, counters: FeedCounters, watch: StreamWatch,
                 venue: str, auth_hint: str) -> None:
        """`venue` names it in errors ("Alpaca"); `auth_hint` says what to check when the stream
        refuses the credentials."""
        self._clock, self._source, self._policy, self._counters = clock, source, policy, counters
        self._on_bar, self._watch, self._venue, self._auth_hint = on_bar, watch, venue, auth_hint
        self._stall = timedelta(minutes=policy.stall_intervals)
        self._stop = threading.Event()
        self._inbox: queue.SimpleQueue[Bar] = queue.SimpleQueue()
        self._stream: VenueStream | None = None
        self.error: str | None = None
        now = clock.now()
        first = now.replace(second=0, microsecond=0)  # the minute in progress
        self._expected = dict.fromkeys(symbols, first)
        self._last_delivered: datetime | None = None
        self._quiet_since = now
        self._thread = threading.Thread(target=self._run, name="bar-delivery", daemon=True)
        counters.started(watch)

    def put(self, bar: Bar) -> None:
        """A bar from the stream (any thread)."""
        self._inbox.put(bar)

    def start(self, stream: VenueStream) -> None:
        """Deliver what `stream` (already started) puts here; returns once it is authorized (at
        most a few seconds: after that it keeps trying in the background, and a refusal ends
        the subscription with `error`)."""
        self._stream = stream
        self._thread.start()
        self._watch.wait_outcome(_CONNECT_WAIT_SECS)

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """End the subscription; waits (at most a few seconds) for the delivery thread."""
        self._stop.set()
        if self._thread is not threading.current_thread() and self._thread.ident is not None:
            self._thread.join(_JOIN_SECS)
            if self._thread.is_alive():
                log.warning("bar_delivery_thread_still_running", waited_secs=_JOIN_SECS)
        self._end_stream()

    def _end_stream(self) -> None:
        if self._stream is not None:
            self._stream.stop()
        self._counters.ended(self._watch)

    def _run(self) -> None:
        assert self._stream is not None
        try:
            while not self._stop.is_set():
                refused = self._watch.auth_error
                if refused is not None:  # the credentials, or e.g. a connection limit exceeded
                    hint = f": {self._auth_hint}" if "auth" in refused.lower() else ""
                    self.error = f"{self._venue}'s data stream refused the connection ({refused}){hint}"
                    break
                if not self._stream.alive:
                    self.error = f"{self._venue}'s data stream ended (see the log for the reason)"
                    break
                try:
                    batch = [self._inbox.get(timeout=_POLL_SECS)]
                except queue.Empty:
                    self._watch_stall()
                    continue
                while True:
                    try:
                        batch.append(self._inbox.get_nowait())
                    except queue.Empty:
                        break
                for bar in sorted(batch, key=lambda b: (b.start_utc, b.symbol)):
                    if self._stop.is_set() or not self._take(bar):
                        return
        finally:
            if self.error is not None:
                log.error("feed_subscription_ended", error=self.error)
                self._stop.set()
                self._end_stream()

    def _take(self, bar: Bar) -> bool:
        """Deliver `bar` after any minutes it shows missing; False if the consumer failed."""
        self._quiet_since = self._clock.now()
        if bar.symbol not in self._expected or bar.start_utc < self._expected[bar.symbol]:
            return True  # not ours, or a minute already delivered (a repeat after a reconnect)
        out: list[Bar] = []
        if self._policy.in_session(bar.start_utc):
            out = self._fill(missing_minutes(self._expected, bar.start_utc))
        for symbol in self._expected:
            self._expected[symbol] = max(self._expected[symbol], bar.start_utc)
        out.append(bar)
        return all(self._deliver(item) for item in sorted(out, key=lambda b: (b.start_utc, b.symbol)))

    def _deliver(self, bar: Bar) -> bool:
        if self._last_delivered is not None and bar.start_utc < self._last_delivered:
            log.warning("gap_bar_too_late", symbol=bar.symbol, start=bar.start_utc.isoformat())
            return True
        self._last_delivered = bar.start_utc
        self._expected[bar.symbol] = max(self._expected[bar.symbol], bar.start_utc + MINUTE)
        counters = self._counters
        with counters.lock:
            if counters.last_bar_utc is None or bar.start_utc > counters.last_bar_utc:
                counters.last_bar_utc = bar.start_utc
        try:
            self._on_bar(bar)
        except Exception as exc:  # noqa: BLE001 - the consumer's failure ends this subscription
            self.error = f"{type(exc).__name__}: {exc}"
            return False
        return True

    def _fill(self, missing: dict[str, list[datetime]]) -> list[Bar]:
        """Fetch the missing minutes within the hold (see the module's note); the bars found."""
        if not missing:
            return []
        policy = self._policy
        wanted = {s: {m for m in minutes if policy.in_session(m)} for s, minutes in missing.items()}
        wanted = {s: m for s, m in wanted.items() if m}
        found: list[Bar] = []
        absent = 0  # minutes a successful answer did not hold: nothing traded
        hold_end = time.monotonic() + policy.max_hold_real_secs
        interval = timedelta(seconds=policy.retry_interval_secs)
        attempt = 0
        while wanted and not self._stop.is_set():
            attempt += 1
            again = False  # a fetch failed, or a minute has not ended yet: worth asking again
            for symbol in list(wanted):
                left = hold_end - time.monotonic()
                if self._stop.is_set() or left < _MIN_FETCH_SECS:
                    again = False
                    break
                minutes = wanted[symbol]
                try:
                    with operation_budget(left):
                        bars = self._source.fetch_bars(symbol, "1m", min(minutes), max(minutes) + MINUTE,
                                                       stop=self._stop)
                except MismarteradError as exc:
                    log.warning("gap_fetch_failed", symbol=symbol, attempt=attempt, error=str(exc))
                    again = True
                    continue
                got = [b for b in bars if b.start_utc in minutes]
                found.extend(got)
                minutes.difference_update(b.start_utc for b in got)
                now = self._clock.now()
                ended = {m for m in minutes if m + MINUTE <= now}
                absent += len(ended)
                minutes.difference_update(ended)
                if minutes:
                    again = True
                else:
                    del wanted[symbol]
            if not wanted or not again or attempt > policy.max_retries:
                break
            left = hold_end - time.monotonic()
            if left < _MIN_FETCH_SECS:
                break
            delay = min(max(0.0, self._clock.real_delay(self._clock.now() + interval)), left)
            if self._stop.wait(delay):
                break
        unfilled = absent + sum(len(m) for m in wanted.values())
        with self._counters.lock:
            self._counters.filled += len(found)
            self._counters.unfilled += unfilled
        if found:
            log.info("gap_filled", minutes=len(found))
        if absent:
            log.info("gap_minutes_without_trades", minutes=absent)
        for symbol, minutes in sorted(wanted.items()):
            log.warning("gap_unfilled", symbol=symbol, minutes=len(minutes), first=min(minutes).isoformat())
        return found

    def _watch_stall(self) -> None:
        now = self._clock.now()
        if not self._watch.connected or not self._policy.in_session(now):
            self._quiet_since = now
            return
        if now - self._quiet_since >= self._stall:
            with self._counters.lock:
                self._counters.stalls += 1
            log.warning("data_stream_stalled", silent_since=self._quiet_since.isoformat())
            self._quiet_since = now
            if self._stream is not None:
                self._stream.drop_connection()


class LiveBarFeed(ABC):
    """A venue's BarFeed: each subscription opens the venue's stream (`_open_stream`, in its
    own thread) and a BarDelivery, which is the subscription handed back. `in_session(t)` says
    whether `t` is in the regular session (TimeManager's answer): gaps and stalls are watched
    only then (None: at every hour). `max_hold_real_secs`: see the module docstring."""

    venue = ""  # the venue's name in errors
    auth_hint = ""  # what to check when its stream refuses the credentials

    def __init__(self, clock: Clock, source: GapSource, *, gap_max_retries: int = 3,
                 gap_retry_interval_secs: float = 5.0, stall_intervals: int = 3,
                 in_session: Callable[[datetime], bool] | None = None, max_hold_real_secs: float = 1.5) -> None:
        self._clock, self._source = clock, source
        self._policy = GapPolicy(gap_max_retries, gap_retry_interval_secs, stall_intervals, max_hold_real_secs,
                                 in_session or (lambda _t: True))
        self._counters = FeedCounters()

    def subscribe(self, symbols: Sequence[str], on_bar: Callable[[Bar], None]) -> BarDelivery:
        """Start a stream for `symbols`; returns once it is authorized (at most a few seconds:
        after that it keeps trying in the background, and a refusal ends it with `error`)."""
        symbols = tuple(dict.fromkeys(symbols))
        watch = StreamWatch("data")
        delivery = BarDelivery(symbols, on_bar, clock=self._clock, source=self._source, policy=self._policy,
                               counters=self._counters, watch=watch, venue=self.venue, auth_hint=self.auth_hint)
        try:
            stream = self._open_stream(symbols, watch, delivery.put)
        except BaseException:
            self._counters.ended(watch)
            raise
        delivery.start(stream)
        return delivery

    def stats(self) -> FeedStats:
        return self._counters.stats()

    @abstractmethod
    def _open_stream(self, symbols: tuple[str, ...], watch: StreamWatch, put: Callable[[Bar], None]) -> VenueStream:
        """Start the venue's stream of `symbols` (its thread running), each bar to `put`."""
