"""`/_emulator/*`: the test and rehearsal controls (no keys needed), the same on every emulator.

`faults` arms a fault; `requests` lists every request received; `state` shows the account (its
open orders in the venue's own JSON); `clock` gives the replay time (`{"timestamp": ISO}`, so a
daemon can be started at it); `bars`, `open` and `close` drive the market by hand (the broker
contract suite feeds synthetic bars instead of a clock): injected bars are matched and streamed
exactly as the market thread does it, and count as regular-session bars; a close given bars is
stamped at the end of the last of them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mismarterad.core.market_data import Bar
from mismarterad.integrations.venue_emulator.exchange import Exchange
from mismarterad.integrations.venue_emulator.faults import DropStream, FaultError, parse_fault
from mismarterad.integrations.venue_emulator.sessions import NEW_YORK
from mismarterad.integrations.venue_emulator.values import EmulatedOrder, money

__all__ = ["ControlHooks", "RequestLog", "add_emulator_routes"]


class RequestLog:
    """Every request received, in arrival order (thread-safe append and copy)."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)


class _BarIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(min_length=1, max_length=20)
    start: datetime
    o: float = Field(gt=0)
    h: float = Field(gt=0)
    l: float = Field(gt=0)  # noqa: E741 -- Alpaca's key
    c: float = Field(gt=0)
    v: int = Field(default=0, ge=0)


class _BarsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bars: list[_BarIn]


@dataclass(frozen=True)
class ControlHooks:
    """What differs between venues behind the same controls: how an open order is shown, how
    a stream is dropped, and faults only this venue has (`venue_fault(body)`: True if it took
    the fault, False to leave it to the shared kinds; FaultError for a bad one of its own)."""

    order_json: Callable[[EmulatedOrder], dict[str, Any]]
    drop: Callable[[str], Awaitable[None]]
    venue_fault: Callable[[Any], bool] = lambda _body: False


def add_emulator_routes(app: web.Application, exchange: Exchange, hooks: ControlHooks, requests: RequestLog) -> None:
    async def faults(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"null")
            if hooks.venue_fault(body):
                return web.json_response({"ok": True})
            fault = parse_fault(body)
        except ValueError as exc:  # FaultError included
            return _bad(str(exc) if isinstance(exc, FaultError) else "body: not valid JSON")
        if isinstance(fault, DropStream):
            await hooks.drop(fault.stream)
        else:
            exchange.faults.arm(fault)
        return web.json_response({"ok": True})

    async def request_log(request: web.Request) -> web.Response:
        return web.json_response(requests.entries())

    async def state(request: web.Request) -> web.Response:
        def render(a: Any) -> dict[str, Any]:
            return {
                "now": exchange.clock.now().astimezone(NEW_YORK).isoformat(),
                "cash": money(a.cash),
                "equity": money(a.equity()),
                "positions": [{"symbol": p.symbol, "qty": p.qty, "avg_entry_price": money(p.avg_entry_price)}
                              for _, p in sorted(a.positions.items())],
                "open_orders": [hooks.order_json(o) for o in a.open_orders()],
            }

        return web.json_response(exchange.read(render))

    async def clock(request: web.Request) -> web.Response:
        return web.json_response({"timestamp": exchange.clock.now().astimezone(NEW_YORK).isoformat()})

    async def bars(request: web.Request) -> web.Response:
        parsed = await _bars(request)
        if isinstance(parsed, web.Response):
            return parsed
        for minute in sorted({b.start_utc for b in parsed}):
            exchange.step([b for b in parsed if b.start_utc == minute], regular=True)
        return web.json_response({"ok": True})

    async def open_session(request: web.Request) -> web.Response:
        now = exchange.clock.now()
        exchange.open_session(exchange.sessions.current_or_next(now), now)
        return web.json_response({"ok": True})

    async def close_session(request: web.Request) -> web.Response:
        parsed = await _bars(request)
        if isinstance(parsed, web.Response):
            return parsed
        # stamped at the end of the last bar given, as the market thread stamps a real day's close
        end = max(b.start_utc for b in parsed) + timedelta(minutes=1) if parsed else None
        exchange.close_session(exchange.sessions.current_or_next(exchange.clock.now()), parsed, end)
        return web.json_response({"ok": True})

    app.router.add_post("/_emulator/faults", faults)
    app.router.add_get("/_emulator/requests", request_log)
    app.router.add_get("/_emulator/state", state)
    app.router.add_get("/_emulator/clock", clock)
    app.router.add_post("/_emulator/bars", bars)
    app.router.add_post("/_emulator/open", open_session)
    app.router.add_post("/_emulator/close", close_session)


async def _bars(request: web.Request) -> list[Bar] | web.Response:
    try:
        body = _BarsIn.model_validate(json.loads(await request.read() or b"null"))
    except ValueError as exc:  # ValidationError included
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            return _bad(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
        return _bad("body: not valid JSON")
    out = []
    for i, b in enumerate(body.bars):
        if b.start.tzinfo is None:
            return _bad(f"bars.{i}.start: give the UTC offset")
        if not (b.l <= min(b.o, b.c) and max(b.o, b.c) <= b.h):
            return _bad(f"bars.{i}: open and close must lie within low..high")
        out.append(Bar(b.symbol.upper(), "1m", b.start.astimezone(UTC), b.o, b.h, b.l, b.c, b.v))
    return out


def _bad(message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=400)
