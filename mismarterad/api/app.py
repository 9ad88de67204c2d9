"""The FastAPI application: the routes under /api/v1, the OpenAPI docs at /api/docs and the web
console at /, all served from package files (no CDN, no network at run time), behind the
request guard (api/request_guard.py)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from mismarterad import __version__
from mismarterad.api.context import ApiContext
from mismarterad.api.errors import ApiJSONResponse, install_error_handlers
from mismarterad.api.request_guard import RequestGuard
from mismarterad.api.routes import auth, events, market_data, session, system
from mismarterad.api.thread_lanes import default_lanes

__all__ = ["DOCS_CSP", "build_app"]

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

    return RequestGuard(app, trusted_proxies, loopback_only)
