"""Schwab's streamer, emulated: the websocket the user-preferences answer names.

JSON text frames as schwab-py 1.5.1's StreamClient speaks them: `{"requests": [...]}` in;
`{"response": [...]}` echoing each request's service, command and requestid with `content.code`
0 (or 3, "login denied"; or, under the `streamer_login_code` fault, the code asked for, after
which the socket is closed), `{"data": [...]}` with CHART_EQUITY items (`key` the symbol, fields
"1".."8": sequence, open, high, low, close, volume, the minute's start in epoch ms, its day
number), and `{"notify": [{"heartbeat": ms}]}` every few seconds. ADMIN LOGIN checks the access
token; CHART_EQUITY takes SUBS (replaces the set), ADD, UNSUBS; other services are refused
(code 11). Each minute's bars go out at its end on the clock, after the account matched its
orders (the shared Exchange's order), to every client subscribed to their symbol. Trade
updates are not streamed (the adapter reads orders over REST): they are dropped here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from mismarterad.core.clock import Clock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.schwab_emulator.wire import millis
from mismarterad.integrations.venue_emulator.values import TradeUpdate

__all__ = ["StreamerHub"]

log = structlog.get_logger(component="emulator_streamer")

HEARTBEAT_SECS = 10.0  # real time between heartbeats
_DENIED = 3
_NOT_SERVED = 11
_EPOCH_DAY = 86_400_000


@dataclass(eq=False)
class _Client:
    ws: web.WebSocketResponse
    logged_in: bool = False
    symbols: set[str] = field(default_factory=set)
    seq: int = 0


class StreamerHub:
    """The streamer's sockets and the ordered queue that feeds them (a `Hub`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: Clock, token_ok: Callable[[str], bool],
                 customer_id: str) -> None:
        self._loop, self._clock, self._token_ok, self._customer_id = loop, clock, token_ok, customer_id
        self._queue: asyncio.Queue[list[Bar]] = asyncio.Queue()
        self._clients: set[_Client] = set()
        self.reversed: set[str] = set()  # orders under the out_of_order_updates fault
        self.login_codes: list[int] = []  # the next logins' answers (the streamer_login_code fault), on the loop

    # --- Publisher: any thread -----------------------------------------------------------

    def trade_updates(self, updates: Sequence[TradeUpdate]) -> None:
        """Not streamed: Schwab's clients read orders over REST."""

    def bars(self, bars: Sequence[Bar]) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, list(bars))

    def reverse_order(self, order_id: str) -> None:
        self._loop.call_soon_threadsafe(self.reversed.add, order_id)

    # --- the sender task ---------------------------------------------------------------------

    async def run_sender(self) -> None:
        heartbeat = asyncio.create_task(self._heartbeats())
        try:
            while True:
                bars = await self._queue.get()
                try:
                    await self._send_bars(bars)
                except Exception as exc:  # one bad frame must not silence the stream for good
                    log.error("stream_send_failed", error=str(exc))
        finally:
            heartbeat.cancel()

    async def _send_bars(self, bars: list[Bar]) -> None:
        now = millis(self._clock.now())
        for client in list(self._clients):
            items = []
            for bar in bars:
                if client.logged_in and bar.symbol in client.symbols:
                    client.seq += 1
                    start = millis(bar.start_utc)
                    items.append({"seq": client.seq, "key": bar.symbol, "1": client.seq, "2": bar.open,
                                  "3": bar.high, "4": bar.low, "5": bar.close, "6": float(bar.volume),
                                  "7": start, "8": start // _EPOCH_DAY})
            if items:
                await self._send(client, {"data": [{"service": "CHART_EQUITY", "timestamp": now,
                                                    "command": "SUBS", "content": items}]})

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECS)
            beat = {"notify": [{"heartbeat": str(millis(self._clock.now()))}]}
            for client in list(self._clients):
                if client.logged_in:
                    await self._send(client, beat)

    # --- connections -----------------------------------------------------------------------

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        client = _Client(ws)
        self._clients.add(client)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(msg.data)
                    requests = message["requests"]
                    if not isinstance(requests, list):
                        raise TypeError
                except (ValueError, KeyError, TypeError):
                    log.info("streamer_bad_frame")
                    continue
                for item in requests:
                    if isinstance(item, dict):
                        await self._on_request(client, item)
        finally:
            self._clients.discard(client)
        return ws

    async def _on_request(self, client: _Client, request: dict[str, Any]) -> None:
        service, command = str(request.get("service", "")), str(request.get("command", ""))
        params = request.get("parameters") if isinstance(request.get("parameters"), dict) else {}
        code, text = 0, f"{command} command succeeded"
        if service == "ADMIN" and command == "LOGIN":
            token = str(params.get("Authorization", ""))
            client.logged_in = (self._token_ok(token)
                                and request.get("SchwabClientCustomerId") == self._customer_id)
            code, text = (0, "server=emulator;status=PN") if client.logged_in else (_DENIED, "Login denied")
            if self.login_codes:
                code, text = self.login_codes.pop(0), "answered by the streamer_login_code fault"
                client.logged_in = False
        elif service == "ADMIN" and command == "LOGOUT":
            client.logged_in = False
        elif not client.logged_in:
            code, text = _DENIED, "not logged in"
        elif service == "CHART_EQUITY" and command in ("SUBS", "ADD", "UNSUBS"):
            keys = {k.strip().upper() for k in str(params.get("keys", "")).split(",") if k.strip()}
            client.symbols = {"SUBS": keys, "ADD": client.symbols | keys, "UNSUBS": client.symbols - keys}[command]
        else:
            code, text = _NOT_SERVED, f"{service} {command} is not emulated"
        await self._send(client, {"response": [{
            "service": service, "command": command, "requestid": str(request.get("requestid", "")),
            "SchwabClientCorrelId": request.get("SchwabClientCorrelId"), "timestamp": millis(self._clock.now()),
            "content": {"code": code, "msg": text}}]})
        if code != 0 and service == "ADMIN" and command == "LOGIN":
            await client.ws.close()

    async def _send(self, client: _Client, message: dict[str, Any]) -> None:
        try:
            await client.ws.send_str(json.dumps(message))
        except (ConnectionError, RuntimeError) as exc:  # closed under us: the client reconnects
            log.info("stream_client_gone", error=str(exc))
            self._clients.discard(client)

    async def drop(self, stream: str = "data", code: int = 1011, message: bytes = b"dropped by the emulator") -> None:
        """Close every streamer socket now (`drop_stream` of "data" or "both"; Schwab has no trading stream)."""
        if stream in ("data", "both"):
            for client in list(self._clients):
                await client.ws.close(code=code, message=message)

    async def close_all(self) -> None:
        await self.drop("both", 1001, b"emulator stopping")
