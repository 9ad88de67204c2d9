"""The aiohttp application: Schwab's trader and market-data REST routes, its OAuth endpoints,
the streamer's websocket (`/ws`) and `/_emulator/*`, on one port.

Handlers stay thin: parse (order_input), call the shared Exchange, render (wire). Every request
is logged for `/_emulator/requests` (an order POST with what it asked for and, once answered,
the order id it became); the middleware checks the bearer token on the API routes and applies
injected HTTP faults (venue_emulator/http_faults.py). Errors are Schwab's `{"message",
"errors"}` JSON; an order is answered 201 with an empty body and a `Location` on Schwab's own
host, as schwab-py's `Utils.extract_order_id` requires.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode

from aiohttp import web

from mismarterad.core.intervals import parse_interval
from mismarterad.integrations.schwab_emulator.order_input import parse_order_spec, query_time
from mismarterad.integrations.schwab_emulator.streamer import StreamerHub
from mismarterad.integrations.schwab_emulator.tokens import TokenIssuer
from mismarterad.integrations.schwab_emulator.wire import (
    account_hash,
    account_json,
    candles_json,
    customer_id,
    error_json,
    market_hours_json,
    order_json,
    order_location,
    preferences_json,
)
from mismarterad.integrations.venue_emulator.control_routes import ControlHooks, RequestLog, add_emulator_routes
from mismarterad.integrations.venue_emulator.exchange import Exchange
from mismarterad.integrations.venue_emulator.faults import FaultError
from mismarterad.integrations.venue_emulator.history import ended_bars
from mismarterad.integrations.venue_emulator.http_faults import answer_with_faults
from mismarterad.integrations.venue_emulator.sessions import NEW_YORK
from mismarterad.integrations.venue_emulator.values import EmulatedOrder, OrderError

__all__ = ["build_app"]

_OPEN = ("/_emulator", "/ws", "/v1/oauth")  # no bearer token on these
_MINUTE_FREQUENCIES = (1, 5, 10, 15, 30)


def build_app(exchange: Exchange, hub: StreamerHub, issuer: TokenIssuer, account_number: str,
              requests: RequestLog) -> web.Application:
    app = web.Application(middlewares=[_middleware(exchange, issuer, requests)])
    api = _Api(exchange, hub, issuer, account_number)
    app.router.add_get("/trader/v1/accounts/accountNumbers", api.account_numbers)
    app.router.add_get("/trader/v1/accounts/{hash}", api.account)
    app.router.add_post("/trader/v1/accounts/{hash}/orders", api.place)
    app.router.add_get("/trader/v1/accounts/{hash}/orders", api.orders)
    app.router.add_get("/trader/v1/accounts/{hash}/orders/{order_id}", api.order)
    app.router.add_delete("/trader/v1/accounts/{hash}/orders/{order_id}", api.cancel)
    app.router.add_get("/trader/v1/userPreference", api.preferences)
    app.router.add_get("/marketdata/v1/pricehistory", api.price_history)
    app.router.add_get("/marketdata/v1/markets", api.market_hours)
    app.router.add_get("/v1/oauth/authorize", api.authorize)
    app.router.add_post("/v1/oauth/token", api.token)
    app.router.add_get("/ws", hub.socket)
    add_emulator_routes(app, exchange, ControlHooks(api.render, hub.drop, api.venue_fault), requests)
    return app


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed - {"kind"})
    if extra:
        raise FaultError(f"{extra[0]}: extra inputs are not permitted")


def _whole(body: dict[str, Any], name: str, default: int | None, low: int, high: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise FaultError(f"{name}: an integer from {low} to {high} is expected")
    return value


def _middleware(exchange: Exchange, issuer: TokenIssuer, requests: RequestLog) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        is_order_post = request.method == "POST" and request.path.endswith("/orders")
        entry: dict[str, Any] = {"method": request.method, "path": request.path,
                                 "time": exchange.clock.now().astimezone(NEW_YORK).isoformat()}
        if is_order_post:
            entry["order"] = await _order_summary(request)
        requests.add(entry)
        if request.path.startswith(_OPEN):
            return await handler(request)
        auth = request.headers.get("Authorization", "")
        if not (auth.startswith("Bearer ") and issuer.access_ok(auth.removeprefix("Bearer "))):
            return _error(401, 0, "Client not authorized")
        response = await answer_with_faults(request, handler, exchange.faults.take_http(is_order_post), _error)
        if is_order_post and response.status == 201:
            entry["order_id"] = response.headers["Location"].rsplit("/", 1)[-1]
        return response

    return middleware


async def _order_summary(request: web.Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.read() or b"null")
        leg = body["orderLegCollection"][0]
        return {"symbol": leg["instrument"]["symbol"], "instruction": leg["instruction"], "quantity": leg["quantity"],
                "orderType": body.get("orderType"), "price": body.get("price"), "stopPrice": body.get("stopPrice")}
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def _error(status: int, _code: int, message: str) -> web.Response:
    """Schwab's error body; its 4xx refusals of an order are 400s (a missing order is 404)."""
    shown = status if status in (401, 404, 429) or status >= 500 else 400
    return web.json_response(error_json(message), status=shown)


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read() or b"null")
    except ValueError:
        raise OrderError(400, 40010000, "body: not valid JSON") from None


class _Api:
    """The REST handlers."""

    def __init__(self, exchange: Exchange, hub: StreamerHub, issuer: TokenIssuer, account_number: str) -> None:
        self._x, self._hub, self._issuer = exchange, hub, issuer
        self._number, self._hash = account_number, account_hash(account_number)
        self._token_answers: list[web.Response] = []  # the token_answer fault's, on the loop

    def venue_fault(self, body: Any) -> bool:
        """The faults only Schwab's emulator has (docs/emulator.md): `expire_refresh_token`;
        `streamer_login_code` (the next `count` streamer logins answered with response code
        `code`); `token_answer` (the next `count` token requests answered with `status`, `body`
        and `content_type` as given: a gateway's error page, a body that is not a token)."""
        kind = body.get("kind") if isinstance(body, dict) else None
        if kind == "expire_refresh_token":
            _only(body, set())
            self._issuer.expire_all()
        elif kind == "streamer_login_code":
            _only(body, {"code", "count"})
            self._hub.login_codes += [_whole(body, "code", None, 1, 1000)] * _whole(body, "count", 1, 1, 1000)
        elif kind == "token_answer":
            _only(body, {"status", "body", "content_type", "count"})
            text, content_type = body.get("body", ""), body.get("content_type", "application/json")
            if not isinstance(text, str) or not isinstance(content_type, str) or not content_type:
                raise FaultError("body, content_type: strings are expected")
            status = _whole(body, "status", None, 200, 599)
            self._token_answers += [web.Response(status=status, text=text, content_type=content_type)
                                    for _ in range(_whole(body, "count", 1, 1, 1000))]
        else:
            return False
        return True

    def render(self, order: EmulatedOrder) -> dict[str, Any]:
        """An order's JSON, with the activity faults of the moment applied."""
        return order_json(order, self._number, newest_first=order.id in self._hub.reversed,
                          repeat=self._x.faults.take_duplicate())

    def _account(self, request: web.Request) -> None:
        if request.match_info["hash"] != self._hash:
            raise OrderError(404, 40410000, "account not found (ask accountNumbers for its hash)")

    async def account_numbers(self, request: web.Request) -> web.Response:
        return web.json_response([{"accountNumber": self._number, "hashValue": self._hash}])

    async def account(self, request: web.Request) -> web.Response:
        self._account(request)
        with_positions = "positions" in request.query.get("fields", "").split(",")
        return web.json_response(self._x.read(lambda a: account_json(a, self._number, with_positions)))

    async def place(self, request: web.Request) -> web.Response:
        self._account(request)
        order = self._x.submit(parse_order_spec(await _json_body(request)))
        return web.Response(status=201, headers={"Location": order_location(self._hash, order.id)})

    async def orders(self, request: web.Request) -> web.Response:
        self._account(request)
        since = query_time("fromEnteredTime", request.query.get("fromEnteredTime"))
        until = query_time("toEnteredTime", request.query.get("toEnteredTime"))
        status = request.query.get("status")
        found = [o for o in self._x.read(lambda a: list(a.orders.values()))
                 if since <= o.created_utc.replace(microsecond=0) <= until]
        rendered = [self.render(o) for o in sorted(found, key=lambda o: o.created_utc, reverse=True)]
        rendered = [o for o in rendered if status is None or o["status"] == status]
        limit = int(request.query.get("maxResults", "3000") or 3000)
        return web.json_response(rendered[:limit])

    async def order(self, request: web.Request) -> web.Response:
        self._account(request)
        order_id = request.match_info["order_id"]
        return web.json_response(self.render(self._x.read(lambda a: a.order(order_id))))

    async def cancel(self, request: web.Request) -> web.Response:
        self._account(request)
        self._x.cancel(request.match_info["order_id"])
        return web.Response(status=200)

    async def preferences(self, request: web.Request) -> web.Response:
        stream_url = f"ws://{request.host}/ws"
        return web.json_response(preferences_json(self._number, stream_url, customer_id(self._number)))

    async def price_history(self, request: web.Request) -> web.Response:
        q = request.query
        symbol = q.get("symbol", "").upper()
        if not symbol:
            raise OrderError(400, 40010000, "symbol: required")
        kind, frequency = q.get("frequencyType", "minute"), _int(q.get("frequency", "1"), "frequency")
        if kind == "minute" and frequency in _MINUTE_FREQUENCIES:
            interval = f"{frequency}m"
        elif kind == "daily" and frequency == 1:
            interval = "1d"
        else:
            raise OrderError(400, 40010000, f"frequencyType/frequency: {kind}/{frequency} is not emulated "
                                            "(minute: 1, 5, 10, 15, 30; daily: 1)")
        now = self._x.clock.now()
        start = _from_millis(q["startDate"]) if "startDate" in q else now - timedelta(days=1)
        end = _from_millis(q["endDate"]) if "endDate" in q else now
        extended = q.get("needExtendedHoursData", "true").lower() != "false"

        def read() -> list[Any]:
            bars = ended_bars(self._x.store, self._x.sessions, symbol, parse_interval(interval), start, end, now)
            return [b for b in bars if start <= b.start_utc <= end
                    and (extended or interval != "1m" or self._x.sessions.is_open(b.start_utc))]

        try:
            bars = await asyncio.get_running_loop().run_in_executor(None, read)  # off the loop: streams keep flowing
        except ValueError as exc:  # the store refuses a symbol it cannot name
            raise OrderError(400, 40010000, f"symbol: {exc}") from None
        return web.json_response(candles_json(symbol, bars))

    async def market_hours(self, request: web.Request) -> web.Response:
        if "equity" not in request.query.get("markets", "").lower().split(","):
            raise OrderError(400, 40010000, "markets: only equity is emulated")
        text = request.query.get("date")
        try:
            day = date.fromisoformat(text) if text else self._x.clock.now().astimezone(NEW_YORK).date()
        except ValueError:
            raise OrderError(400, 40010000, f"date: not YYYY-MM-DD: {text!r}") from None
        return web.json_response(market_hours_json(day, self._x.sessions.session(day)))

    async def authorize(self, request: web.Request) -> web.Response:
        """The browser login, done at once: redirect to the callback with a code."""
        q = request.query
        if not self._issuer.app_key_ok(q.get("client_id", "")) or q.get("response_type") != "code":
            return web.json_response(error_json("client_id or response_type refused"), status=400)
        redirect = q.get("redirect_uri", "")
        query = {"code": self._issuer.code(redirect), "session": "emulated-session"}
        if "state" in q:
            query["state"] = q["state"]
        raise web.HTTPFound(f"{redirect}?{urlencode(query)}")

    async def token(self, request: web.Request) -> web.Response:
        """grant_type authorization_code or refresh_token, the app's key and secret in Basic auth."""
        if self._token_answers:
            return self._token_answers.pop(0)
        key, secret = _basic(request.headers.get("Authorization", ""))
        if not self._issuer.client_ok(key, secret):
            return web.json_response({"error": "invalid_client", "error_description": "client authentication failed"},
                                     status=401)
        form = await request.post()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            token = self._issuer.exchange(str(form.get("code", "")), str(form.get("redirect_uri", "")))
        elif grant == "refresh_token":
            token = self._issuer.refresh(str(form.get("refresh_token", "")))
        else:
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if token is None:
            return web.json_response({"error": "invalid_client", "error_description": "refresh token invalid"
                                      if grant == "refresh_token" else "authorization code invalid"}, status=400)
        return web.json_response(token)


def _basic(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    try:
        key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return unquote(key), unquote(secret)


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise OrderError(400, 40010000, f"{name}: not an integer: {text!r}") from None


def _from_millis(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    except (ValueError, OverflowError):
        raise OrderError(400, 40010000, f"startDate/endDate: not epoch milliseconds: {text!r}") from None
