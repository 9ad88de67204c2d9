"""The FastAPI application: the routes under /api/v1, the OpenAPI docs at /api/docs and the web
console at /, all served from package files (no CDN, no network at run time)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from mismarterad import __version__
from mismarterad.api.context import ApiContext
from mismarterad.api.errors import ApiJSONResponse, failure_response, install_error_handlers
from mismarterad.api.routes import auth, events, market_data, session, system

__all__ = ["build_app"]

# the console: its own files only; uPlot sets element styles from script, which CSP allows
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
               "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# the docs page: FastAPI's Swagger UI page starts the bundle with an inline script
DOCS_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")


def _console_file(name: str) -> bytes:
    return resources.files("mismarterad.api").joinpath("console", name).read_bytes()


def build_app(ctx: ApiContext) -> ASGIApp:
    app = FastAPI(title="mismarterad", version=__version__, summary="the operator's API of a mismarterad daemon",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
                  default_response_class=ApiJSONResponse)
    app.state.context = ctx
    install_error_handlers(app)
    for module in (auth, session, market_data, system, events):
        app.include_router(module.router, prefix="/api/v1")
    app.mount("/static", StaticFiles(packages=[("mismarterad.api", "console")]), name="static")
    index = _console_file("index.html")

    @app.get("/", include_in_schema=False)
    def console() -> HTMLResponse:
        return HTMLResponse(index)

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url="/api/openapi.json", title="mismarterad API",
                                   swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    return _Guard(app)


class _Guard:
    """Plain ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware on every request): the
    security headers on every response, no caching of API answers, and a one-line 500 for an
    exception no handler took, never a traceback."""

    def __init__(self, app: FastAPI) -> None:
        self.app: ASGIApp = app

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
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - never a traceback in a response
            if started:  # FastAPI's handler of last resort answered (and logged it): the reply is complete
                return
            await failure_response(scope["path"], exc)(scope, receive, send_with_headers)


_HEADERS = [(b"content-security-policy", CONSOLE_CSP.encode()), (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
