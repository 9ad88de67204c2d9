"""AlpacaBarFeed: Alpaca's minute bars (StockDataStream) as a BarFeed, kept whole and in order.

Threads. Each subscription runs the SDK's stream in its own thread (its asyncio loop; the
handler only converts Alpaca's bar to ours and puts it on a queue) and a delivery thread of
ours that hands bars to `on_bar` in time order. The subscription delivers from the minute in
progress when it is made.

Reconnects. alpaca-py reconnects, re-authenticates and re-subscribes by itself; the watched
stream (streams.py) counts every authorized connection after the first as a reconnect and uses
our backoff. A stream that stays silent for `stall_intervals` minutes of clock time while its
socket looks fine (inside the session, see `in_session`) is counted as a stall and its socket
is closed, so the SDK reconnects.

Gaps. Every arriving bar of minute `s` says that each subscribed symbol's earlier minutes are
over: a symbol whose next expected minute is before `s` has missing minutes (inside the
session, see `in_session`), which are fetched at once from REST (the AlpacaSource). An answer
that does not hold a minute that has ended is definitive: nothing traded in it at IEX, so it is
not asked again. Only a fetch that failed (an outage, a timeout) is tried again, up to
`gap_max_retries` times every `gap_retry_interval_secs` of clock time, and never past
`max_hold_real_secs` (1.5 s) of REAL time from the gap's discovery: the fetches themselves are
cut to that budget too. The bar that revealed the gap (and every later one, still queued)
waits meanwhile, so a gap-filled bar is never delivered after a later one. Then the held bars
go out; the minutes still missing are counted (`gaps_unfilled`) and logged, and not fetched
again. Worst-case added latency: `max_hold_real_secs` of real time per minute whose bars
reveal a gap (about 1.5 s by default), whatever the clock's speed; nothing when REST answers at
once. (The SessionCoordinator releases a step at its end + 2 s and drops bars of minutes it
has released, so a long hold would only make every later step late too.)

Stopping. `stop()` sets a flag that the delivery thread checks between bars and between gap
fetches (and that abandons a fetch's retries), then joins it for at most a few seconds.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from alpaca.data.models import Bar as AlpacaBar

from mismarterad.core.clock import Clock
from mismarterad.core.errors import MismarteradError
from mismarterad.core.market_data import Bar
from mismarterad.integrations.alpaca.credentials import AlpacaCredentials
from mismarterad.integrations.alpaca.endpoints import AlpacaEndpoints
from mismarterad.integrations.alpaca.parse import parse_bar
from mismarterad.integrations.alpaca.rest import AUTH_HINT, operation_budget
from mismarterad.integrations.alpaca.source import AlpacaSource
from mismarterad.integrations.alpaca.streams import StreamRunner, StreamWatch, WatchedDataStream

__all__ = ["AlpacaBarFeed", "FeedStats", "missing_minutes"]

log = structlog.get_logger(component="alpaca_bar_feed")

MINUTE = timedelta(minutes=1)
_POLL_SECS = 0.1
_CONNECT_WAIT_SECS = 5.0  # real time subscribe() waits for the stream's first authorization
_JOIN_SECS = 5.0  # real time stop() waits for the delivery thread
_MIN_FETCH_SECS = 0.05  # less than this left of a hold: no fetch is started


@dataclass(frozen=True, slots=True)
class FeedStats:
    """The feed's counters since it was made (all its subscriptions), read by metrics from any thread."""

    connected: bool
    reconnects: int
    stalls: int
    gaps_filled: int  # missing minutes fetched over REST
    gaps_unfilled: int  # missing minutes delivered around after the retries ran out
    last_bar_utc: datetime | None


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


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stalls = 0
        self.filled = 0
        self.unfilled = 0
        self.last_bar_utc: datetime | None = None
        self.active: set[StreamWatch] = set()  # the streams of subscriptions not yet ended
        self.ended_reconnects = 0


class AlpacaBarFeed:
    def __init__(self, credentials: AlpacaCredentials, endpoints: AlpacaEndpoints, clock: Clock,
                 source: AlpacaSource, *, feed: str = "iex", gap_max_retries: int = 3,
                 gap_retry_interval_secs: float = 5.0, stall_intervals: int = 3,
                 in_session: Callable[[datetime], bool] | None = None, max_hold_real_secs: float = 1.5) -> None:
        """`in_session(t)` says whether `t` is in the regular session (TimeManager's answer): gaps
        and stalls are watched only then. None watches at every hour. `max_hold_real_secs`: the
        most real time later bars wait for a gap's fetches (see the module's note)."""
        self._credentials, self._endpoints, self._clock, self._source = credentials, endpoints, clock, source
        self._feed = feed
        self._gap_retries, self._gap_interval = gap_max_retries, timedelta(seconds=gap_retry_interval_secs)
        self._stall = timedelta(minutes=stall_intervals)
        self._in_session = in_session or (lambda _t: True)
        self._max_hold_secs = max_hold_real_secs
        self._counters = _Counters()

    @property
    def name(self) -> str:
        return f"alpaca-{self._feed}"

    def subscribe(self, symbols: Sequence[str], on_bar: Callable[[Bar], None]) -> _Subscription:
        """Start a stream for `symbols`; returns once it is authorized (at most a few seconds:
        after that it keeps trying in the background, and a refusal ends it with `error`)."""
        watch = StreamWatch("data")
        with self._counters.lock:
            self._counters.active.add(watch)
        return _Subscription(self, tuple(dict.fromkeys(symbols)), on_bar, watch)

    def stats(self) -> FeedStats:
        """`connected`: every running subscription's stream is authorized (true with none running:
        a subscription that ended is not a lost connection)."""
        c = self._counters
        with c.lock:
            return FeedStats(connected=all(w.connected for w in c.active),
                             reconnects=c.ended_reconnects + sum(w.reconnects for w in c.active), stalls=c.stalls,
                             gaps_filled=c.filled, gaps_unfilled=c.unfilled, last_bar_utc=c.last_bar_utc)


class _Subscription:
    def __init__(self, feed: AlpacaBarFeed, symbols: tuple[str, ...], on_bar: Callable[[Bar], None],
                 watch: StreamWatch) -> None:
        self._feed, self._symbols, self._on_bar, self._watch = feed, symbols, on_bar, watch
        self._clock = feed._clock
        self._stop = threading.Event()
        self._inbox: queue.SimpleQueue[Bar] = queue.SimpleQueue()
        self.error: str | None = None
        now = self._clock.now()
        first = now.replace(second=0, microsecond=0)  # the minute in progress
        self._expected = dict.fromkeys(symbols, first)
        self._last_delivered: datetime | None = None
        self._quiet_since = now
        creds = feed._credentials
        self._stream = WatchedDataStream(creds.key_id, creds.secret, feed._endpoints.data_stream, feed._feed, watch)
        self._stream.subscribe_bars(self._on_stream_bar, *symbols)
        self._runner = StreamRunner(self._stream, "alpaca-bars")
        self._thread = threading.Thread(target=self._run, name="alpaca-bar-delivery", daemon=True)
        self._runner.start()
        self._thread.start()
        # a subscription that returns is connected (or refused, or still trying after the wait)
        watch.wait_outcome(_CONNECT_WAIT_SECS)

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """End the subscription; waits (at most a few seconds) for the delivery thread."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(_JOIN_SECS)
            if self._thread.is_alive():
                log.warning("bar_delivery_thread_still_running", waited_secs=_JOIN_SECS)
        self._end_stream()

    def _end_stream(self) -> None:
        self._runner.stop()
        counters = self._feed._counters
        with counters.lock:
            if self._watch in counters.active:
                counters.active.discard(self._watch)
                counters.ended_reconnects += self._watch.reconnects

    async def _on_stream_bar(self, bar: AlpacaBar) -> None:
        # on the stream's loop: convert and queue, nothing else
        try:
            self._inbox.put(parse_bar(bar))
        except (ValueError, TypeError) as exc:
            log.error("stream_bar_unreadable", error=str(exc))

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                refused = self._watch.auth_error
                if refused is not None:  # keys, or e.g. 406 connection limit exceeded (one stream per account)
                    hint = f": {AUTH_HINT}" if "auth" in refused.lower() else ""
                    self.error = f"Alpaca's data stream refused the connection ({refused}){hint}"
                    break
                if not self._runner.alive:
                    self.error = "Alpaca's data stream ended (see the log for the SDK's reason)"
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
        if self._feed._in_session(bar.start_utc):
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
        counters = self._feed._counters
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
        feed = self._feed
        wanted = {s: {m for m in minutes if feed._in_session(m)} for s, minutes in missing.items()}
        wanted = {s: m for s, m in wanted.items() if m}
        found: list[Bar] = []
        absent = 0  # minutes a successful answer did not hold: nothing traded
        hold_end = time.monotonic() + feed._max_hold_secs
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
                        bars = feed._source.fetch_bars(symbol, "1m", min(minutes), max(minutes) + MINUTE,
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
            if not wanted or not again or attempt > feed._gap_retries:
                break
            left = hold_end - time.monotonic()
            if left < _MIN_FETCH_SECS:
                break
            delay = min(max(0.0, self._clock.real_delay(self._clock.now() + feed._gap_interval)), left)
            if self._stop.wait(delay):
                break
        unfilled = absent + sum(len(m) for m in wanted.values())
        with feed._counters.lock:
            feed._counters.filled += len(found)
            feed._counters.unfilled += unfilled
        if found:
            log.info("gap_filled", minutes=len(found))
        if absent:
            log.info("gap_minutes_without_trades", minutes=absent)
        for symbol, minutes in sorted(wanted.items()):
            log.warning("gap_unfilled", symbol=symbol, minutes=len(minutes), first=min(minutes).isoformat())
        return found

    def _watch_stall(self) -> None:
        now = self._clock.now()
        if not self._watch.connected or not self._feed._in_session(now):
            self._quiet_since = now
            return
        if now - self._quiet_since >= self._feed._stall:
            with self._feed._counters.lock:
                self._feed._counters.stalls += 1
            log.warning("data_stream_stalled", silent_since=self._quiet_since.isoformat())
            self._quiet_since = now
            self._runner.call(self._stream.drop_connection)
