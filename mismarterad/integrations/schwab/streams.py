"""Schwab's streamer, run by us: schwab-py's StreamClient in its own thread and asyncio loop,
taking CHART_EQUITY 1-minute bars, reconnecting by itself.

schwab-py's StreamClient is asyncio only and never reconnects: a closed socket raises out of
`handle_message()`. So each connection is a fresh StreamClient on the thread's loop: `login()`
(it reads the streamer's URL and ids from `get_user_preferences()` and sends ADMIN LOGIN with
the current access token), `chart_equity_subs(symbols)`, then `handle_message()` until the
socket closes, whatever the reason; then a backoff with jitter (RECONNECT_BACKOFF) and again.
Every authorized connection after the first counts as a reconnect (the StreamWatch). A login
or subscription Schwab refuses (a refused token, or a response code that means "no":
`REFUSAL_CODES`, such as 3 LOGIN_DENIED) is recorded as a refusal and ends the thread: asking
again gets the same answer. Every other code (11 SERVICE_NOT_AVAILABLE, 12 CLOSE_CONNECTION,
20 STREAM_CONN_NOT_FOUND, 30 STOP_STREAMING, 9 UNKNOWN_FAILURE, one Schwab adds later) is a
failed connection like a dropped socket: the loop backs off and logs in again, the code logged.
A code we cannot name never ends the day's bars; a wrong retry costs a login every backoff.

The handler only converts each bar to ours and hands it on (`on_bar`, the delivery's queue).
A stall (no bar for minutes while the socket looks fine, see bar_delivery.py) closes the
socket, which makes the loop reconnect. The async functions here are the adapter's only ones;
they never touch the rest of the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from authlib.common.errors import AuthlibBaseError
from schwab.streaming import StreamClient, UnexpectedResponseCode

from mismarterad.core.market_data import Bar
from mismarterad.integrations.schwab.parse import parse_chart_bar
from mismarterad.integrations.schwab.session import SchwabSession
from mismarterad.integrations.stream_watch import RECONNECT_BACKOFF, StreamWatch

__all__ = ["REFUSAL_CODES", "ChartStream"]

log = structlog.get_logger(component="schwab_streams")

_STOP_WAIT_SECS = 3.0
# websockets' own keepalive: Schwab's streamer answers pings; a dead socket is noticed in 20 s
_CONNECT_ARGS = {"open_timeout": 10, "ping_interval": 10, "ping_timeout": 10, "close_timeout": 1}
# The streamer's response codes that mean "no" (Schwab's Streamer API guide; schwab-py 1.5.1
# raises UnexpectedResponseCode for any but 0 and names none): the same login would meet them
# again. Any other code is retried after the backoff (see the module docstring).
REFUSAL_CODES = {3: "LOGIN_DENIED", 19: "REACHED_SYMBOL_LIMIT", 21: "BAD_COMMAND_FORMAT",
                 22: "FAILED_COMMAND_SUBS"}


class ChartStream:
    """CHART_EQUITY bars of `symbols` for `on_bar`, from `start()` until `stop()`; see the module docstring."""

    def __init__(self, session: SchwabSession, symbols: Sequence[str], on_bar: Callable[[Bar], None],
                 watch: StreamWatch) -> None:
        self._session, self._symbols, self._on_bar, self._watch = session, list(symbols), on_bar, watch
        self._thread = threading.Thread(target=self._run, name="schwab-chart-equity", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._client: StreamClient | None = None

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def drop_connection(self) -> None:
        """Close the socket (a stall): the loop reconnects."""
        self._on_loop(self._close_socket)

    def stop(self) -> None:
        """End the stream and wait (bounded) for its thread; idempotent."""
        self._stopping = True
        self._on_loop(self._close_socket)
        if threading.current_thread() is not self._thread and self._thread.ident is not None:
            self._thread.join(_STOP_WAIT_SECS)
            if self._thread.is_alive():
                log.warning("stream_thread_still_running", thread=self._thread.name)

    # -- the stream's thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # noqa: BLE001 - the loop died: logged, the watch says disconnected
            log.error("stream_thread_failed", thread=self._thread.name, error=type(exc).__name__)  # never its text
        finally:
            self._watch.lost()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        failures, refreshed = 0, False
        while not self._stopping:
            client = StreamClient(self._session.client)
            client.add_chart_equity_handler(self._on_message)
            self._client = client
            try:
                await client.login(websocket_connect_args=dict(_CONNECT_ARGS))
                await client.chart_equity_subs(self._symbols)
            except Exception as exc:  # noqa: BLE001 - classified: a refusal ends the stream, the rest retries
                refusal = _refusal(exc)
                await self._close_socket()
                if refusal is not None and _status(exc) == 401 and not refreshed:
                    refreshed = True  # Schwab may end an access token early: one refresh, then again
                    try:
                        self._session.refresh()
                        continue
                    except Exception as refresh_exc:  # noqa: BLE001 - classified below
                        refusal = _refusal(refresh_exc) or refusal
                if refusal is not None:
                    self._watch.refused(refusal)
                    return
                failures += 1
                log.warning("stream_connect_failed", stream=self._watch.name, error=type(exc).__name__,
                            code=_code(exc), attempt=failures)
                await self._backoff(failures)
                continue
            failures, refreshed = 0, False
            self._watch.authorized()
            try:
                while not self._stopping:
                    await client.handle_message()
            except Exception as exc:  # noqa: BLE001 - a closed socket, or a message we cannot read
                if not self._stopping:
                    log.warning("stream_closed", stream=self._watch.name, error=type(exc).__name__)
            await self._close_socket()
            self._watch.lost()
            if not self._stopping:
                await self._backoff(1)

    async def _backoff(self, attempt: int) -> None:
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), RECONNECT_BACKOFF.backoff_secs(attempt))

    def _on_message(self, message: dict[str, Any]) -> None:
        # on the stream's loop: convert and hand on, nothing else
        for item in message.get("content") or ():
            try:
                self._on_bar(parse_chart_bar(item))
            except ValueError as exc:
                log.error("stream_bar_unreadable", error=str(exc))

    async def _close_socket(self) -> None:
        if self._wake is not None and self._stopping:
            self._wake.set()
        socket = getattr(self._client, "_socket", None)  # schwab-py 1.5.1 keeps its websocket there
        if socket is not None:
            try:
                await socket.close()
            except Exception as exc:  # noqa: BLE001 - closing a broken socket
                log.info("stream_close_failed", error=type(exc).__name__)

    def _on_loop(self, coroutine_fn: Callable[[], Any]) -> None:
        deadline = time.monotonic() + _STOP_WAIT_SECS
        while self._loop is None and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)  # the loop is made inside the thread
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(coroutine_fn(), loop)


def _refusal(exc: BaseException) -> str | None:
    """Why Schwab refused the login (to say it once, not ask again), None for a failure worth retrying."""
    if isinstance(exc, UnexpectedResponseCode):
        code = _code(exc)
        if code not in REFUSAL_CODES:
            return None
        try:
            command = str(exc.response["response"][0]["command"])
        except (KeyError, IndexError, TypeError):
            command = "LOGIN"
        what = "login" if command == "LOGIN" else f"subscription ({command})"
        name = REFUSAL_CODES[code]
        cause = "authorization" if code == 3 or command == "LOGIN" else "the request"
        return f"{what} refused (code {code} {name}: {cause})"
    if isinstance(exc, AuthlibBaseError):
        return "the refresh token was refused (authorization)"
    status = _status(exc)
    if status in (401, 403):
        return f"user preferences refused ({status}: authorization)"
    return None


def _code(exc: BaseException) -> int | None:
    """The streamer's response code in a refusal schwab-py raised, if any."""
    try:
        code = exc.response["response"][0]["content"]["code"]  # type: ignore[attr-defined]
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _status(exc: BaseException) -> int | None:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None
