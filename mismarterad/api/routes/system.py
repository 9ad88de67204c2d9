"""Control: start, stop, halt, resume, flatten, reload, through the control socket's own commands.

Operators and admins only. Every request, granted or not, is written to the audit trail,
logged at INFO (user, action, result, address) and published to the console's events; the role
is checked before a body is read, so a viewer's request is recorded whatever it sent. A command
the daemon refuses answers 409 with the daemon's reason. The routes run in their own lane of
threads (api/lanes.py): a halt never waits behind logins or market-data reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from mismarterad.api.auth_service import Principal
from mismarterad.api.context import ApiCaller, ApiContext, client_address, context
from mismarterad.api.errors import ApiError, from_command_error
from mismarterad.api.request_body import RawBody, parsed
from mismarterad.api.routes.auth import audit_record
from mismarterad.api.security import SignedIn, forbidden
from mismarterad.integrations.http_server.lanes import in_lane
from mismarterad.core.access import Role
from mismarterad.core.audit import AuditEntry
from mismarterad.daemon.control_server import CommandError

__all__ = ["router"]

log = structlog.get_logger(component="api_control")
router = APIRouter(tags=["system"])


class HaltBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flatten: StrictBool = Field(default=False, description="also close every position with market orders")
    reason: Annotated[str, Field(max_length=200, description="shown by status beside who halted")] = ""


_HALT_BODY = {"requestBody": {"required": False, "content": {"application/json": {
    "schema": HaltBody.model_json_schema()}}}}
Words = tuple[list[str], str]  # the socket command's words, and the request's arguments as the audit shows them


def _control(request: Request, who: Principal, action: str, words: Callable[[], Words] = lambda: ([], "")) -> Any:
    ctx, address = context(request), client_address(request)
    if not who.role.allows(Role.OPERATOR):
        _audit(ctx, who.user, address, action, "", f"forbidden: role {who.role.value}")
        raise forbidden(who, Role.OPERATOR, action)
    try:
        argv, detail = words()
    except ApiError as exc:
        _audit(ctx, who.user, address, action, "", f"invalid: {exc.message}")
        raise
    try:
        result = ctx.commands(action, {"words": argv}, ApiCaller(who.user, address))
    except CommandError as exc:
        _audit(ctx, who.user, address, action, detail, f"refused: {exc}")
        raise from_command_error(exc, "reason" if exc.code == "bad_request" and action == "halt" else None) from None
    except Exception as exc:
        _audit(ctx, who.user, address, action, detail, f"failed: {type(exc).__name__}")
        raise
    _audit(ctx, who.user, address, action, detail, "ok")
    return result


def _audit(ctx: ApiContext, user: str, address: str, action: str, detail: str, result: str) -> None:
    """Record, log and publish; a failed write is logged, never the request's answer: the action is done."""
    entry = AuditEntry(ctx.wall.now(), user, action, detail, result, address)
    try:
        entry = ctx.audit.record(entry)
    except Exception as exc:  # noqa: BLE001 - the database may be briefly away; the journal line below stays
        log.error("api_audit_failed", user=user, action=action, error=f"{type(exc).__name__}: {exc}")
    log.info("api_control", user=user, action=action, detail=detail or None, result=result, address=address)
    ctx.hub.publish("audit", audit_record(entry))


def _halt_words(raw: bytes) -> Words:
    body = parsed(HaltBody, raw, required=False)  # no body: halt without flattening
    if not body.flatten and body.reason.strip() == "flatten":  # the socket's words would read it as the option
        raise ApiError(422, "invalid", "reason: 'flatten' alone is the option: set flatten = true, or say more",
                       "reason")
    words = (["flatten"] if body.flatten else []) + ([body.reason] if body.reason else [])
    return words, f"flatten={str(body.flatten).lower()}" + (f" reason={body.reason}" if body.reason else "")


@router.post("/system/start", summary="start today's session now")
@in_lane("control")
def start(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "start")  # type: ignore[no-any-return]


@router.post("/system/stop", summary="stop the running session now and write its report")
@in_lane("control")
def stop(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "stop")  # type: ignore[no-any-return]


@router.post("/system/halt", openapi_extra=_HALT_BODY,
             summary="kill switch: refuse new orders, cancel open ones, optionally flatten (body optional)")
@in_lane("control")
def halt(request: Request, who: SignedIn, raw: RawBody) -> dict[str, Any]:
    return _control(request, who, "halt", lambda: _halt_words(raw))  # type: ignore[no-any-return]


@router.post("/system/resume", summary="accept orders again (also lifts a daily-loss or reconciliation halt)")
@in_lane("control")
def resume(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "resume")  # type: ignore[no-any-return]


@router.post("/system/flatten", summary="close every position with market orders")
@in_lane("control")
def flatten(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "flatten")  # type: ignore[no-any-return]


@router.post("/system/reload", summary="re-read the config and re-plan (like SIGHUP)")
@in_lane("control")
def reload(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "reload")  # type: ignore[no-any-return]
