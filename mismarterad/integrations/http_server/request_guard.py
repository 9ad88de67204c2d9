"""What every HTTP request passes before the application sees it, as plain ASGI middleware
(cheaper than Starlette's BaseHTTPMiddleware on every request):

- a body over `max_body_bytes` is refused with 413: at once by its Content-Length, or, sent in
  chunks, as soon as it grows past the limit (an HTTPException, so FastAPI's handler for those
  answers it, even while FastAPI itself reads the body).
- with `loopback_only`, a request whose Host is neither an IP address nor `localhost` is
  refused with 421, unless a trusted proxy passed it on: a web page whose name was pointed at
  127.0.0.1 (DNS rebinding) cannot talk to a server on a loopback address from a browser there.
- `X-Forwarded-For` (and `-Proto`) is believed from `trusted_proxies` only (uvicorn's
  ProxyHeadersMiddleware, placed inside this guard so the guard sees the real peer).
- the given headers on every response that lacks them (HSTS over HTTPS), no caching of answers
  under `no_store_prefix`, and the application's answer to an exception no handler took.

The application gives the rules and the two functions that build its answers (`ErrorAnswer`,
`FailureAnswer`: plain functions that return a response), so the guard's refusals have the
application's error shape and the guard knows nothing of it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

__all__ = ["ErrorAnswer", "FailureAnswer", "GuardRules", "RequestGuard"]

_HSTS = (b"strict-transport-security", b"max-age=31536000")


class ErrorAnswer(Protocol):
    """The response of a refusal: HTTP `status`, a short `code`, a one-line `message`."""

    def __call__(self, status: int, code: str, message: str, *,
                 headers: dict[str, str] | None = None) -> ASGIApp: ...


FailureAnswer = Callable[[str, Exception], ASGIApp]  # (path, exception): the 500, logged by the application


@dataclass(frozen=True, slots=True)
class GuardRules:
    max_body_bytes: int
    headers: tuple[tuple[bytes, bytes], ...]  # lower-case names; added to a response that lacks them
    no_store_prefix: str  # a response to a path under it gets Cache-Control: no-store unless it has one
    wrong_host: str  # the 421's message (what the operator should do)
    trusted_proxies: tuple[str, ...] = ()
    loopback_only: bool = False

    @property
    def too_large(self) -> str:
        return f"the request body is over {self.max_body_bytes // 1024} KiB"


class RequestGuard:
    def __init__(self, app: ASGIApp, rules: GuardRules, error: ErrorAnswer, failure: FailureAnswer) -> None:
        self._rules, self._error, self._failure = rules, error, failure
        self._networks = [ipaddress.ip_network(p, strict=False) for p in rules.trusted_proxies]
        self.app: ASGIApp = (ProxyHeadersMiddleware(app, list(rules.trusted_proxies))  # type: ignore[arg-type]
                             if rules.trusted_proxies else app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"].startswith(self._rules.no_store_prefix)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._rules.headers if k not in present]
                if no_store and b"cache-control" not in present:
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
            await self.app(scope, _limited(receive, self._rules), send_with_headers)
        except Exception as exc:  # noqa: BLE001 - never a traceback in a response
            if started:  # FastAPI's handler of last resort answered (and logged it): the reply is complete
                return
            await self._failure(scope["path"], exc)(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope) -> ASGIApp | None:
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self._rules.max_body_bytes:
            return self._error(413, "too_large", self._rules.too_large, headers={"Connection": "close"})
        if self._rules.loopback_only and not self._from_proxy(scope) and not _local_host(headers.get(b"host")):
            return self._error(421, "wrong_host", self._rules.wrong_host)
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


def _limited(receive: Receive, rules: GuardRules) -> Receive:
    """`receive`, refusing (413) a chunked body as soon as it grows past the limit."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > rules.max_body_bytes:
                raise HTTPException(413, rules.too_large, headers={"Connection": "close"})
        return message

    return receive_limited
