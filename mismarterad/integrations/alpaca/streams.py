"""alpaca-py's two websocket streams, watched: each runs its own asyncio loop in a daemon thread
of ours, and tells a `StreamWatch` when it is authorized, lost, or refused.

alpaca-py reconnects by itself (and re-authenticates and re-subscribes) but says nothing about
it, and retries a refused authentication forever. So the streams are subclassed (the pin on
alpaca-py is exact; these are its private hooks in 0.44.0):

* `_start_ws` finishing is one authorized connection: the first is a connect, every later one a
  reconnect (counted).
* `_auth` raising ValueError is a refused authentication (the venue's answer, not a network
  failure): recorded, so `start()`/`subscribe()` can stop the stream instead of retrying forever.
* `close` is the socket going away (for an error, a forced reconnect, or a stop).
* `_reconnect_delay` is our backoff (RetryPolicy: exponential with jitter) instead of the SDK's.
* `stop_ws` also closes the socket, so a stop does not wait for the SDK's 5 s receive timeout.

The async methods here are the only ones in the project; they run on the stream's own loop and
hand everything else to our threads through locks and queues.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import structlog
from alpaca.data.enums import DataFeed
from alpaca.data.live.stock import StockDataStream
from alpaca.trading.stream import TradingStream

from mismarterad.integrations.stream_watch import RECONNECT_BACKOFF, StreamWatch

__all__ = ["StreamRunner", "WatchedDataStream", "WatchedTradingStream"]

log = structlog.get_logger(component="alpaca_streams")

_STOP_WAIT_SECS = 3.0


class _Watched:
    """The hooks shared by both streams (mixed in before the SDK class)."""

    _watch: StreamWatch
    _ws: Any

    def _reconnect_delay(self, retries: int) -> float:
        return RECONNECT_BACKOFF.backoff_secs(retries)

    async def _auth(self) -> None:
        try:
            await super()._auth()  # type: ignore[misc]
        except ValueError as exc:
            self._watch.refused(str(exc) or "authentication failed")
            raise

    async def _start_ws(self) -> None:
        await super()._start_ws()  # type: ignore[misc]
        self._watch.authorized()

    async def close(self) -> None:
        try:
            await super().close()  # type: ignore[misc]
        finally:
            self._watch.lost()

    async def stop_ws(self) -> None:
        await super().stop_ws()  # type: ignore[misc]
        if self._ws is not None:
            await self._ws.close()  # wakes the receive: the loop sees the stop at once

    async def drop_connection(self) -> None:
        """Close the socket; the SDK reconnects (used when a stream went silent)."""
        if self._ws is not None:
            await self._ws.close()


class WatchedTradingStream(_Watched, TradingStream):
    def __init__(self, key_id: str, secret: str, url: str, watch: StreamWatch) -> None:
        super().__init__(key_id, secret, url_override=url)
        self._watch = watch


class WatchedDataStream(_Watched, StockDataStream):
    def __init__(self, key_id: str, secret: str, url: str, feed: str, watch: StreamWatch) -> None:
        super().__init__(key_id, secret, feed=DataFeed(feed), url_override=url)
        self._watch = watch


class StreamRunner:
    """Runs one stream's `run()` (its own asyncio loop) in a daemon thread, and stops it."""

    def __init__(self, stream: WatchedTradingStream | WatchedDataStream, name: str) -> None:
        self._stream = stream
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopped = False

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self._stream.run()
        except Exception as exc:  # noqa: BLE001 - the SDK's loop died: logged, the watch says disconnected
            log.error("stream_thread_failed", thread=self._thread.name, error=type(exc).__name__)  # never its text
        finally:
            self._stream._watch.lost()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def call(self, coroutine_fn: Any) -> None:
        """Run `coroutine_fn()` on the stream's loop (fire and forget); nothing if not running."""
        loop = self._stream._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(coroutine_fn(), loop)

    def stop(self) -> None:
        """Stop the stream and wait (bounded) for its thread; idempotent."""
        if self._stopped or not self._thread.is_alive():
            self._stopped = True
            return
        self._stopped = True
        deadline = time.monotonic() + _STOP_WAIT_SECS
        while self._stream._loop is None and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)  # the loop is made inside run(): stop() needs it
        loop = self._stream._loop
        if loop is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._stream.stop_ws(), loop)
            try:
                future.result(timeout=max(0.1, deadline - time.monotonic()))
            except Exception as exc:  # noqa: BLE001 - a stop that failed leaves a daemon thread: logged
                log.warning("stream_stop_failed", thread=self._thread.name, error=type(exc).__name__)
        if threading.current_thread() is not self._thread:
            self._thread.join(max(0.1, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.warning("stream_thread_still_running", thread=self._thread.name)
