"""Every error the API answers has one shape, and none carries a traceback:

    {"error": {"status": 409, "code": "refused", "message": "no session is running", "field": null}}

401: no usable token (with `WWW-Authenticate: Bearer`); 403: the wrong role; 404: no such
thing; 409: the daemon refused a command (its reason is the message); 413: a body over the
limit; 421: a Host the API does not answer for; 422: bad input, `field` naming it; 429: too
many failed logins (with `Retry-After`); 500: a failure, logged in full in the daemon's log,
answered in one line; 503: too busy for now (with `Retry-After`).

The handlers are plain functions; the HTTP adapter (integrations/http_server) calls them on its
event loop.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mismarterad.core.json_values import finite_json
from mismarterad.daemon.control_server import CommandError
from mismarterad.integrations.http_server.error_handlers import install_exception_handlers
from mismarterad.integrations.http_server.lanes import LaneFull

__all__ = ["ApiError", "ApiJSONResponse", "error_response", "failure_response", "from_command_error",
           "install_error_handlers", "retry_after_header", "validation_error"]

log = structlog.get_logger(component="api")

BUSY_RETRY_SECS = 2.0  # a full lane's Retry-After
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


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> ApiJSONResponse:
    return ApiJSONResponse({"error": {"status": status, "code": code, "message": message, "field": field}}, status,
                           headers=headers)


def validation_error(errors: list[Any]) -> ApiError:
    """The 422 of pydantic's (or FastAPI's) first error, naming its field."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":  # FastAPI puts the character offset where the field goes
        return ApiError(422, "invalid", f"body: not valid JSON ({first.get('ctx', {}).get('error', 'decode error')})",
                        "body")
    parts = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
    field = ".".join(parts) or "body"
    return ApiError(422, "invalid", f"{field}: {first.get('msg', 'invalid')}", field)


def install_error_handlers(app: FastAPI) -> None:
    install_exception_handlers(app, {ApiError: _api_error, RequestValidationError: _invalid, LaneFull: _busy,
                                     StarletteHTTPException: _http, Exception: _failed})


def _api_error(_request: Request, exc: ApiError) -> ApiJSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)


def _invalid(_request: Request, exc: RequestValidationError) -> ApiJSONResponse:
    invalid = validation_error(list(exc.errors()))
    return error_response(422, invalid.code, invalid.message, invalid.field)


def _busy(_request: Request, exc: LaneFull) -> ApiJSONResponse:
    return error_response(503, "busy", f"too many {exc.lane} requests at once; try again in a few seconds",
                          headers=retry_after_header(BUSY_RETRY_SECS))


def _failed(request: Request, exc: Exception) -> ApiJSONResponse:
    return failure_response(request.url.path, exc)


def _http(_request: Request, exc: StarletteHTTPException) -> ApiJSONResponse:
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))


def failure_response(path: str, exc: Exception) -> ApiJSONResponse:
    """The 500 of an unexpected exception: one line to the client, the error to the daemon's log."""
    log.error("api_request_failed", path=path, error=f"{type(exc).__name__}: {exc}")
    return error_response(500, "internal_error", "the request failed; the daemon's log has the details")


def retry_after_header(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(math.ceil(seconds))}
