"""Both websocket streams: market data (`/v2/iex`, `/v2/sip`, msgpack) and trade updates
(`/stream`, JSON in binary frames), as alpaca-py 0.44's StockDataStream and TradingStream speak them.

Everything published goes through one queue drained by one task, so what the account did first
reaches the sockets first: a minute's fills go out on the trading stream before that minute's
bars go out on the data stream. Publishing is thread-safe (the market thread calls it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
import structlog
from aiohttp import WSMsgType, web

from mismarterad.core.market_data import Bar
from mismarterad.integrations.venue_emulator.faults import FaultBook
from mismarterad.integrations.venue_emulator.values import TradeUpdate
from mismarterad.integrations.alpaca_emulator.wire import bar_message, trade_update_json

__all__ = ["StreamHub"]

log = structlog.get_logger(component="emulator_streams")

_CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds", "corrections",
             "cancelErrors")


@dataclass(eq=False)
class _DataClient:
    ws: web.WebSocketResponse
    authenticated: bool = False
    bars: set[str] = field(default_factory=set)

    def wants(self, symbol: str) -> bool:
        return self.authenticated and (symbol in self.bars or "*" in self.bars)


@dataclass(eq=False)
class _TradingClient:
    ws: web.WebSocketResponse
    authenticated: bool = False
    listening: bool = False


class StreamHub:
    """The sockets of both streams and the ordered queue that feeds them (a `Publisher`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, faults: FaultBook, keys_ok: Callable[[Any, Any], bool]) -> None:
        self._loop = loop
        self._faults = faults
        self._keys_ok = keys_ok
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._data: set[_DataClient] = set()
        self._trading: set[_TradingClient] = set()
        self._reversed: set[str] = set()
        self._held: dict[str, list[TradeUpdate]] = {}

    # --- Publisher: any thread -----------------------------------------------------------

    def trade_updates(self, updates: Sequence[TradeUpdate]) -> None:
        if updates:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, ("trade", list(updates)))

    def bars(self, bars: Sequence[Bar]) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, ("bars", list(bars)))

    def reverse_order(self, order_id: str) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, ("reverse", order_id))

    # --- the sender task -------------------------------------------------------------------

    async def run_sender(self) -> None:
        while True:
            kind, item = await self._queue.get()
            try:
                await self._dispatch(kind, item)
            except Exception as exc:  # one bad message must not silence both streams for good
                log.error("stream_send_failed", kind=kind, error=str(exc))

    async def _dispatch(self, kind: str, item: Any) -> None:
        if kind == "reverse":
            self._reversed.add(item)
        elif kind == "trade":
            for update in item:
                for ready in self._release(update):
                    copies = 2 if self._faults.take_duplicate() else 1
                    for _ in range(copies):
                        await self._send_trading(ready)
        else:
            await self._send_bars(item)

    def _release(self, update: TradeUpdate) -> list[TradeUpdate]:
        # an order under the out_of_order fault: held until it is done, then sent newest first
        order_id = update.order.id
        if order_id not in self._reversed:
            return [update]
        held = self._held.setdefault(order_id, [])
        held.append(update)
        if update.order.is_open:
            return []
        self._reversed.discard(order_id)
        return list(reversed(self._held.pop(order_id)))

    async def _send_trading(self, update: TradeUpdate) -> None:
        payload = json.dumps(trade_update_json(update)).encode()
        for client in list(self._trading):
            if client.listening:
                await _send(client.ws, payload, self._trading, client)

    async def _send_bars(self, bars: list[Bar]) -> None:
        for client in list(self._data):
            frame = [bar_message(b) for b in bars if client.wants(b.symbol)]
            if frame:
                await _send(client.ws, msgpack.packb(frame), self._data, client)

    # --- connections -----------------------------------------------------------------------

    async def data_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        client = _DataClient(ws)
        self._data.add(client)
        try:
            await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "connected"}]))
            async for msg in ws:
                message = _decode(msg, msgpack.unpackb)
                if message is None:
                    await ws.send_bytes(msgpack.packb([{"T": "error", "code": 400, "msg": "invalid syntax"}]))
                    continue
                await self._on_data_message(client, message)
        finally:
            self._data.discard(client)
        return ws

    async def _on_data_message(self, client: _DataClient, message: dict[str, Any]) -> None:
        ws, action = client.ws, message.get("action")
        if action == "auth":
            if client.authenticated:
                await ws.send_bytes(msgpack.packb([{"T": "error", "code": 403, "msg": "already authenticated"}]))
            elif self._keys_ok(message.get("key"), message.get("secret")):
                client.authenticated = True
                await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
            else:
                await ws.send_bytes(msgpack.packb([{"T": "error", "code": 402, "msg": "auth failed"}]))
                await ws.close()
        elif not client.authenticated:
            await ws.send_bytes(msgpack.packb([{"T": "error", "code": 401, "msg": "not authenticated"}]))
        elif action in ("subscribe", "unsubscribe"):
            symbols = {str(s).upper() for s in message.get("bars") or ()}
            client.bars = client.bars | symbols if action == "subscribe" else client.bars - symbols
            ack = {name: [] for name in _CHANNELS}
            ack["bars"] = sorted(client.bars)
            await ws.send_bytes(msgpack.packb([{"T": "subscription", **ack}]))
        else:
            await ws.send_bytes(msgpack.packb([{"T": "error", "code": 400, "msg": "invalid syntax"}]))

    async def trading_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        client = _TradingClient(ws)
        self._trading.add(client)
        try:
            async for msg in ws:
                message = _decode(msg, json.loads)
                data = message.get("data") if message else None
                if message is None or not isinstance(data, dict):
                    await _send_json(ws, {"stream": "error", "data": {"error_message": "invalid syntax"}})
                    continue
                if message.get("action") == "authenticate":
                    client.authenticated = self._keys_ok(data.get("key_id"), data.get("secret_key"))
                    status = "authorized" if client.authenticated else "unauthorized"
                    await _send_json(ws, {"stream": "authorization",
                                          "data": {"action": "authenticate", "status": status}})
                    if not client.authenticated:
                        await ws.close()
                elif message.get("action") == "listen" and client.authenticated:
                    streams = [s for s in data.get("streams", ()) if s == "trade_updates"]
                    client.listening = bool(streams)
                    await _send_json(ws, {"stream": "listening", "data": {"streams": streams}})
                else:
                    await _send_json(ws, {"stream": "authorization",
                                          "data": {"action": "listen", "status": "unauthorized"}})
        finally:
            self._trading.discard(client)
        return ws

    async def drop(self, stream: str, code: int = 1011, message: bytes = b"dropped by the emulator") -> None:
        """Close the sockets of `stream` (data, trading or both) now; clients reconnect."""
        targets: list[_DataClient | _TradingClient] = []
        if stream in ("data", "both"):
            targets += list(self._data)
        if stream in ("trading", "both"):
            targets += list(self._trading)
        for client in targets:
            await client.ws.close(code=code, message=message)

    async def close_all(self) -> None:
        await self.drop("both", 1001, b"emulator stopping")


def _decode(msg: Any, unpack: Callable[[Any], Any]) -> dict[str, Any] | None:
    if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
        return None
    try:
        message = unpack(msg.data) if msg.type is WSMsgType.BINARY else json.loads(msg.data)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return None
    return message if isinstance(message, dict) else None


async def _send_json(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    await ws.send_bytes(json.dumps(message).encode())


async def _send(ws: web.WebSocketResponse, payload: bytes, clients: set[Any], client: Any) -> None:
    try:
        await ws.send_bytes(payload)
    except (ConnectionError, RuntimeError) as exc:  # closed under us: the client will reconnect
        log.info("stream_client_gone", error=str(exc))
        clients.discard(client)
