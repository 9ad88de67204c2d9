"""What every HTTP request passes before the application sees it, as plain ASGI middleware
(cheaper than Starlette's BaseHTTPMiddleware on every request):

- a body over MAX_BODY_BYTES is refused with 413: at once by its Content-Length, or, sent in
  chunks, as soon as it grows past the limit. Nothing the API takes is more than a few
  kilobytes, and no client, signed in or not, may make the daemon hold megabytes.
- on a loopback address, a request whose Host is neither an IP address nor `localhost` is
  refused with 421, unless a trusted proxy passed it on: a web page whose name was pointed at
  127.0.0.1 (DNS rebinding) cannot talk to the API from the operator's own browser.
- `X-Forwarded-For` (and `-Proto`) is believed from `api.trusted_proxies` only (uvicorn's
  ProxyHeadersMiddleware, placed inside this guard so the guard sees the real peer).
- the security headers on every response (HSTS over HTTPS), no caching of API answers, and a
  one-line 500 for an exception no handler took, never a traceback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from mismarterad.api.errors import error_response, failure_response

__all__ = ["CONSOLE_CSP", "MAX_BODY_BYTES", "RequestGuard"]

MAX_BODY_BYTES = 64 * 1024
# the console: its own files only; uPlot sets element styles from script, which CSP allows
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
               "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_HEADERS = [(b"content-security-policy", CONSOLE_CSP.encode()), (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
_HSTS = (b"strict-transport-security", b"max-age=31536000")
_TOO_LARGE = f"the request body is over {MAX_BODY_BYTES // 1024} KiB"


class RequestGuard:
    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[str], loopback_only: bool) -> None:
        self._networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        self._loopback_only = loopback_only
        self.app: ASGIApp = ProxyHeadersMiddleware(app, list(trusted_proxies)) if trusted_proxies else app  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _HEADERS if k not in present]
                if api and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                if scope.get("scheme") == "https":  # read now: a trusted proxy's X-Forwarded-Proto counts
                    extra.append(_HSTS)
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        try:
            await self.app(scope, _limited(receive), send_with_headers)
        except Exception as exc:  # noqa: BLE001 - never a traceback in a response
            if started:  # FastAPI's handler of last resort answered (and logged it): the reply is complete
                return
            await failure_response(scope["path"], exc)(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope) -> ASGIApp | None:
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return error_response(413, "too_large", _TOO_LARGE, headers={"Connection": "close"})
        if self._loopback_only and not self._from_proxy(scope) and not _local_host(headers.get(b"host")):
            return error_response(421, "wrong_host", "this API answers on a loopback address to localhost or an IP "
                                                     "address; behind a reverse proxy, list the proxy in "
                                                     "api.trusted_proxies")
        return None

    def _from_proxy(self, scope: Scope) -> bool:
        peer = scope.get("client")
        try:
            ip = ipaddress.ip_address(peer[0]) if peer else None
        except ValueError:
            return False
        return ip is not None and any(ip in net for net in self._networks)


def _local_host(host: bytes | None) -> bool:
    if host is None:  # HTTP/1.0: no name, nothing to rebind
        return True
    text = host.decode("latin-1").lower()
    name = text[1:text.find("]")] if text.startswith("[") else text.rpartition(":")[0] if ":" in text else text
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _limited(receive: Receive) -> Receive:
    """`receive`, refusing (413) a chunked body as soon as it grows past the limit."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                raise HTTPException(413, _TOO_LARGE, headers={"Connection": "close"})
        return message

    return receive_limited
