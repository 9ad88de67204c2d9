"""The FastAPI application: the routes under /api/v1, the OpenAPI docs at /api/docs and the web
console at /, all served from package files (no CDN, no network at run time)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request, Response
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


def build_app(ctx: ApiContext) -> FastAPI:
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

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        try:
            response: Response = await call_next(request)
        except Exception as exc:  # noqa: BLE001 - never a traceback in a response
            response = failure_response(request.url.path, exc)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONSOLE_CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.url.path.startswith("/api/"):
            headers.setdefault("Cache-Control", "no-store")
        return response

    return app
