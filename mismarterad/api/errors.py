"""Every error the API answers has one shape, and none carries a traceback:

    {"error": {"status": 409, "code": "refused", "message": "no session is running", "field": null}}

401: no usable token (with `WWW-Authenticate: Bearer`); 403: the wrong role; 404: no such
thing; 409: the daemon refused a command (its reason is the message); 422: bad input, `field`
naming it; 429: too many failed logins (with `Retry-After`); 500: a failure, logged in full
in the daemon's log, answered in one line.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mismarterad.daemon.control_server import CommandError, finite_json

__all__ = ["ApiError", "ApiJSONResponse", "failure_response", "from_command_error", "install_error_handlers",
           "retry_after_header"]

log = structlog.get_logger(component="api")

# the control socket's refusal codes as HTTP statuses (cli/control_api.py raises them)
_COMMAND_STATUS = {"bad_request": 422, "refused": 409, "config_invalid": 409, "not_found": 404,
                   "unknown_command": 404, "budget": 429, "assistant_unavailable": 503, "not_saved": 500}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.headers = status, code, message, field, headers


class ApiJSONResponse(JSONResponse):
    """Standard JSON whatever a view holds: a NaN or infinity is sent as null, as the socket does."""

    def render(self, content: Any) -> bytes:
        return super().render(finite_json(content))


def from_command_error(exc: CommandError, field: str | None = None) -> ApiError:
    return ApiError(_COMMAND_STATUS.get(exc.code, 500), exc.code, str(exc), field)


def _body(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "field": field}}


def _validation_field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> ApiJSONResponse:
        return ApiJSONResponse(_body(exc.status, exc.code, exc.message, exc.field), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> ApiJSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = _validation_field(tuple(first.get("loc", ())))
        return ApiJSONResponse(_body(422, "invalid", f"{field}: {first.get('msg', 'invalid')}", field), 422)

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception) -> ApiJSONResponse:
        return failure_response(request.url.path, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> ApiJSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return ApiJSONResponse(_body(exc.status_code, code, str(exc.detail)), exc.status_code,
                               headers=getattr(exc, "headers", None))


def failure_response(path: str, exc: Exception) -> ApiJSONResponse:
    """The 500 of an unexpected exception: one line to the client, the error to the daemon's log."""
    log.error("api_request_failed", path=path, error=f"{type(exc).__name__}: {exc}")
    return ApiJSONResponse(_body(500, "internal_error", "the request failed; the daemon's log has the details"), 500)


def retry_after_header(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(math.ceil(seconds))}
