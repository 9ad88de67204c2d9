"""The FastAPI application: the routes under /api/v1, the OpenAPI docs at /api/docs and the web
console at /, all served from package files (no CDN, no network at run time), behind the
request guard (integrations/http_server/request_guard.py) with the API's rules:

- a body over MAX_BODY_BYTES is refused (413). Nothing the API takes is more than a few
  kilobytes, and no client, signed in or not, may make the daemon hold megabytes.
- on a loopback address, a Host that is neither an IP address nor `localhost` is refused (421)
  unless a trusted proxy (`api.trusted_proxies`) passed the request on: DNS rebinding.
- the console's Content-Security-Policy and the other security headers on every response, and
  no caching of answers under /api/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from mismarterad import __version__
from mismarterad.api.context import ApiContext
from mismarterad.api.errors import ApiJSONResponse, error_response, failure_response, install_error_handlers
from mismarterad.api.lanes import default_lanes
from mismarterad.api.routes import auth, events, market_data, session, system
from mismarterad.integrations.http_server.request_guard import GuardRules, RequestGuard

__all__ = ["CONSOLE_CSP", "DOCS_CSP", "MAX_BODY_BYTES", "build_app"]

MAX_BODY_BYTES = 64 * 1024
# the console: its own files only; uPlot sets element styles from script, which CSP allows
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
               "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_GUARD = GuardRules(MAX_BODY_BYTES, ((b"content-security-policy", CONSOLE_CSP.encode()),
                                     (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                                     (b"x-frame-options", b"DENY")),
                    no_store_prefix="/api/",
                    wrong_host="this API answers on a loopback address to localhost or an IP address; behind a "
                               "reverse proxy, list the proxy in api.trusted_proxies")

# the docs page: Swagger UI's own files; it styles elements from script, so inline styles are allowed
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")


def _console_file(name: str) -> bytes:
    return resources.files("mismarterad.api").joinpath("console", name).read_bytes()


def build_app(ctx: ApiContext, trusted_proxies: Sequence[str] = (), loopback_only: bool = False) -> ASGIApp:
    """`loopback_only`: the API listens on a loopback address, so a request from anything but a
    trusted proxy must name localhost or an IP address as its Host."""
    app = FastAPI(title="mismarterad", version=__version__, summary="the operator's API of a mismarterad daemon",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
                  default_response_class=ApiJSONResponse)
    app.state.context = ctx
    app.state.lanes = default_lanes()
    install_error_handlers(app)
    for module in (auth, session, market_data, system, events):
        app.include_router(module.router, prefix="/api/v1")
    app.mount("/static", StaticFiles(packages=[("mismarterad.api", "console")]), name="static")
    index, docs_page = _console_file("index.html"), _console_file("docs.html")

    @app.get("/", include_in_schema=False)
    def console() -> HTMLResponse:
        return HTMLResponse(index)

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page, headers={"Content-Security-Policy": DOCS_CSP})

    rules = replace(_GUARD, trusted_proxies=tuple(trusted_proxies), loopback_only=loopback_only)
    return RequestGuard(app, rules, error_response, failure_response)
