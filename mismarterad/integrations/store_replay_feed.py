"""A bar feed that replays the store against a Clock: each 1m bar is delivered when the clock
passes its end, as a live feed would. With the replay clock this rehearses a day at N times its
speed; in tests it is the feed twin of the broker adapters' streams."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

import structlog

from mismarterad.core.bar_store import BarStore
from mismarterad.core.clock import Clock
from mismarterad.core.market_data import Bar

__all__ = ["StoreReplayFeed"]

log = structlog.get_logger(component="store_replay_feed")

_MINUTE = timedelta(minutes=1)
_CHUNK = timedelta(hours=1)  # bars are read from the store an hour at a time


class _Subscription:
    def __init__(self, store: BarStore, clock: Clock, symbols: Sequence[str], on_bar: Callable[[Bar], None]) -> None:
        self._store, self._clock, self._symbols, self._on_bar = store, clock, tuple(symbols), on_bar
        self._stop = threading.Event()
        self.error: str | None = None
        # from the minute in progress when subscribe is called (delivered when it ends), not when
        # the thread first runs: on a loaded machine that can be minutes of a fast replay later
        self._first_minute = clock.now().replace(second=0, microsecond=0)
        self._thread = threading.Thread(target=self._run, name="store-replay-feed", daemon=True)
        self._thread.start()

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        cursor = self._first_minute
        while not self._stop.is_set():
            chunk_end = cursor + _CHUNK
            bars = sorted((b for s in self._symbols for b in self._store.read_bars(s, "1m", cursor, chunk_end)),
                          key=lambda b: (b.start_utc, b.symbol))
            for bar in bars:
                if not self._clock.sleep_until(bar.start_utc + _MINUTE, self._stop):
                    return
                try:
                    self._on_bar(bar)
                except Exception as exc:  # noqa: BLE001 - the consumer's failure ends this subscription
                    self.error = f"{type(exc).__name__}: {exc}"
                    log.error("feed_consumer_failed", error=self.error)
                    return
            if not self._clock.sleep_until(chunk_end, self._stop):
                return
            cursor = chunk_end


class StoreReplayFeed:
    def __init__(self, store: BarStore, clock: Clock, name: str = "store-replay") -> None:
        self._store, self._clock, self._name = store, clock, name

    @property
    def name(self) -> str:
        return self._name

    def subscribe(self, symbols: Sequence[str], on_bar: Callable[[Bar], None]) -> _Subscription:
        return _Subscription(self._store, self._clock, symbols, on_bar)
