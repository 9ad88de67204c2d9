"""The aiohttp application: Alpaca's REST routes, both streams and `/_emulator/*` on one port.

Handlers stay thin: parse (order_input, history), call the Exchange, render (wire). Every
request is logged for `/_emulator/requests`; the middleware checks keys on `/v2` and applies
injected HTTP faults. Errors are Alpaca's `{"code", "message"}` JSON.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from mismarterad.integrations.venue_emulator.account import Account
from mismarterad.integrations.venue_emulator.control_routes import ControlHooks, RequestLog, add_emulator_routes
from mismarterad.integrations.venue_emulator.exchange import Exchange
from mismarterad.integrations.venue_emulator.http_faults import answer_with_faults
from mismarterad.integrations.alpaca_emulator.history import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BarQuery,
    BarsPage,
    bars_page,
    parse_timeframe,
)
from mismarterad.integrations.alpaca_emulator.order_input import parse_order_query, parse_order_spec, parse_time
from mismarterad.integrations.venue_emulator.sessions import NEW_YORK
from mismarterad.integrations.alpaca_emulator.streams import StreamHub
from mismarterad.integrations.venue_emulator.values import OPEN_STATUSES, EmulatedOrder, OrderError
from mismarterad.integrations.alpaca_emulator.wire import (
    account_json,
    bar_json,
    calendar_json,
    clock_json,
    error_json,
    order_json,
    position_json,
)

__all__ = ["Keys", "build_app"]

_STREAM_PATHS = ("/v2/iex", "/v2/sip", "/stream")
_MAX_CALENDAR_DAYS = 3700


@dataclass(frozen=True, slots=True)
class Keys:
    key_id: str
    secret: str

    def match(self, key_id: Any, secret: Any) -> bool:
        return (isinstance(key_id, str) and isinstance(secret, str)
                and hmac.compare_digest(key_id, self.key_id) and hmac.compare_digest(secret, self.secret))


def build_app(exchange: Exchange, hub: StreamHub, keys: Keys, requests: RequestLog) -> web.Application:
    app = web.Application(middlewares=[_middleware(exchange, keys, requests)])
    api = _Api(exchange)
    app.router.add_get("/v2/account", api.account)
    app.router.add_get("/v2/clock", api.clock)
    app.router.add_get("/v2/calendar", api.calendar)
    app.router.add_post("/v2/orders", api.submit)
    app.router.add_get("/v2/orders", api.list_orders)
    app.router.add_delete("/v2/orders", api.cancel_all)
    app.router.add_get("/v2/orders:by_client_order_id", api.order_by_client_id)
    app.router.add_get("/v2/orders/{order_id}", api.order)
    app.router.add_delete("/v2/orders/{order_id}", api.cancel)
    app.router.add_get("/v2/positions", api.positions)
    app.router.add_get("/v2/stocks/bars", api.bars)
    app.router.add_get("/v2/stocks/{symbol}/bars", api.symbol_bars)
    for path in _STREAM_PATHS[:2]:
        app.router.add_get(path, hub.data_socket)
    app.router.add_get("/stream", hub.trading_socket)
    add_emulator_routes(app, exchange, ControlHooks(order_json, hub.drop), requests)
    return app


def _middleware(exchange: Exchange, keys: Keys, requests: RequestLog) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        is_order_post = request.method == "POST" and request.path == "/v2/orders"
        requests.add({"method": request.method, "path": request.path,
                      "client_order_id": await _client_order_id(request, is_order_post),
                      "time": exchange.clock.now().astimezone(NEW_YORK).isoformat()})
        if request.path.startswith("/_emulator") or request.path in _STREAM_PATHS:
            return await handler(request)
        if not keys.match(request.headers.get("APCA-API-KEY-ID"), request.headers.get("APCA-API-SECRET-KEY")):
            return _error(401, 40110000, "request is not authorized")
        return await answer_with_faults(request, handler, exchange.faults.take_http(is_order_post), _error)

    return middleware


async def _client_order_id(request: web.Request, is_order_post: bool) -> str | None:
    if request.path == "/v2/orders:by_client_order_id":
        return request.query.get("client_order_id")
    if not is_order_post:
        return None
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        return None
    value = body.get("client_order_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(error_json(code, message), status=status)


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read() or b"null")
    except ValueError:
        raise OrderError(422, 40010000, "body: not valid JSON") from None


class _Api:
    """The `/v2` handlers."""

    def __init__(self, exchange: Exchange) -> None:
        self._x = exchange

    async def account(self, request: web.Request) -> web.Response:
        return web.json_response(self._x.read(lambda a: account_json(a, self._x.created_utc)))

    async def clock(self, request: web.Request) -> web.Response:
        now = self._x.clock.now()
        current = self._x.sessions.current_or_next(now)
        following = self._x.sessions.current_or_next(current.close_utc)
        return web.json_response(clock_json(now, current, following))

    async def calendar(self, request: web.Request) -> web.Response:
        today = self._x.clock.now().astimezone(NEW_YORK).date()
        start = _query_date(request, "start") or today
        end = _query_date(request, "end") or start + timedelta(days=30)
        if end < start or (end - start).days > _MAX_CALENDAR_DAYS:
            raise OrderError(422, 42210000, f"end: must be on or after start and within {_MAX_CALENDAR_DAYS} days")
        return web.json_response([calendar_json(s) for s in self._x.sessions.between(start, end)])

    async def submit(self, request: web.Request) -> web.Response:
        order = self._x.submit(parse_order_spec(await _json_body(request)))
        return web.json_response(order_json(order))

    async def list_orders(self, request: web.Request) -> web.Response:
        query = parse_order_query(dict(request.query))

        def wanted(order: EmulatedOrder) -> bool:
            is_open = order.status in OPEN_STATUSES
            return ((query.status == "all" or is_open == (query.status == "open"))
                    and (not query.symbols or order.spec.symbol in query.symbols)
                    and (query.side is None or order.spec.side is query.side)
                    and (query.after is None or order.created_utc > query.after)
                    and (query.until is None or order.created_utc < query.until))

        orders = [o for o in self._x.read(lambda a: list(a.orders.values())) if wanted(o)]
        orders.sort(key=lambda o: o.created_utc, reverse=query.direction == "desc")
        return web.json_response([order_json(o) for o in orders[:query.limit]])

    async def cancel_all(self, request: web.Request) -> web.Response:
        canceled = self._x.cancel_all()
        body = [{"id": o.id, "status": 200, "body": order_json(o)} for o in canceled]
        return web.json_response(body, status=207)

    async def order_by_client_id(self, request: web.Request) -> web.Response:
        client_id = request.query.get("client_order_id")
        if not client_id:
            raise OrderError(422, 40010000, "client_order_id: required")
        return web.json_response(order_json(self._x.read(lambda a: a.order_by_client_id(client_id))))

    async def order(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        return web.json_response(order_json(self._x.read(lambda a: a.order(order_id))))

    async def cancel(self, request: web.Request) -> web.Response:
        self._x.cancel(request.match_info["order_id"])
        return web.Response(status=204)

    async def positions(self, request: web.Request) -> web.Response:
        def render(a: Account) -> list[dict[str, Any]]:
            return [position_json(p, a.mark_price(p.symbol)) for _, p in sorted(a.positions.items())]

        return web.json_response(self._x.read(render))

    async def bars(self, request: web.Request) -> web.Response:
        symbols = tuple(s.strip().upper() for s in request.query.get("symbols", "").split(",") if s.strip())
        if not symbols:
            raise OrderError(422, 42210000, "symbols: at least one symbol is required")
        page = await self._page(request, symbols)
        return web.json_response({"bars": {s: [bar_json(b) for b in bars] for s, bars in page.bars.items()},
                                  "next_page_token": page.next_page_token})

    async def symbol_bars(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"].upper()
        page = await self._page(request, (symbol,))
        return web.json_response({"bars": [bar_json(b) for b in page.bars.get(symbol, [])], "symbol": symbol,
                                  "next_page_token": page.next_page_token})

    async def _page(self, request: web.Request, symbols: tuple[str, ...]) -> BarsPage:
        q = request.query
        now = self._x.clock.now()
        default_start = datetime.combine(now.astimezone(NEW_YORK).date(), datetime.min.time(), NEW_YORK)
        start = parse_time("start", q["start"]) if "start" in q else default_start
        end = parse_time("end", q["end"]) if "end" in q else now
        try:
            limit = int(q.get("limit", DEFAULT_LIMIT))
        except ValueError:
            raise OrderError(422, 42210000, "limit: not an integer") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise OrderError(422, 42210000, f"limit: must be between 1 and {MAX_LIMIT}")
        sort = q.get("sort", "asc")
        if sort not in ("asc", "desc"):
            raise OrderError(422, 42210000, "sort: must be asc or desc")
        query = BarQuery(symbols, parse_timeframe(q.get("timeframe", "1Min")), start, end, limit,
                         q.get("page_token"), sort == "desc")
        try:
            # reading the store can take a while: off the event loop, so the streams keep flowing
            return await asyncio.get_running_loop().run_in_executor(
                None, bars_page, self._x.store, self._x.sessions, query, now)
        except ValueError as exc:  # the store refuses a symbol it cannot name
            raise OrderError(422, 42210000, f"symbols: {exc}") from None


def _query_date(request: web.Request, name: str) -> date | None:
    text = request.query.get(name)
    if text is None:
        return None
    return parse_time(name, text[:10]).date()

