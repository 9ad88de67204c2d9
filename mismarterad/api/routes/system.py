"""Control: start, stop, halt, resume, flatten, reload, through the control socket's own commands.

Operators and admins only. Every request, granted or not, is written to the audit trail,
logged at INFO (user, action, result, address) and published to the console's events; a
command the daemon refuses answers 409 with the daemon's reason.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from mismarterad.api.context import ApiCaller, ApiContext, client_address, context
from mismarterad.api.errors import ApiError, from_command_error
from mismarterad.api.routes.auth import audit_record
from mismarterad.api.security import SignedIn, forbidden
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


def _control(request: Request, who: Any, action: str, words: list[str], detail: str = "") -> Any:
    ctx, address = context(request), client_address(request)
    if not who.role.allows(Role.OPERATOR):
        _audit(ctx, who.user, address, action, detail, f"forbidden: role {who.role.value}")
        raise forbidden(who, Role.OPERATOR, action)
    try:
        result = ctx.commands(action, {"words": words}, ApiCaller(who.user, address))
    except CommandError as exc:
        _audit(ctx, who.user, address, action, detail, f"refused: {exc}")
        raise from_command_error(exc, "reason" if exc.code == "bad_request" and action == "halt" else None) from None
    except Exception as exc:
        _audit(ctx, who.user, address, action, detail, f"failed: {type(exc).__name__}")
        raise
    _audit(ctx, who.user, address, action, detail, "ok")
    return result


def _audit(ctx: ApiContext, user: str, address: str, action: str, detail: str, result: str) -> None:
    entry = ctx.audit.record(AuditEntry(ctx.wall.now(), user, action, detail, result, address))
    log.info("api_control", user=user, action=action, detail=detail or None, result=result, address=address)
    ctx.hub.publish("audit", audit_record(entry))


@router.post("/system/start", summary="start today's session now")
def start(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "start", [])  # type: ignore[no-any-return]


@router.post("/system/stop", summary="stop the running session now and write its report")
def stop(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "stop", [])  # type: ignore[no-any-return]


@router.post("/system/halt", summary="kill switch: refuse new orders, cancel open ones, optionally flatten")
def halt(request: Request, who: SignedIn, body: HaltBody) -> dict[str, Any]:
    if not body.flatten and body.reason.strip() == "flatten":  # the socket's words would read it as the option
        raise ApiError(422, "invalid", "reason: 'flatten' alone is the option: set flatten = true, or say more",
                       "reason")
    words = (["flatten"] if body.flatten else []) + ([body.reason] if body.reason else [])
    detail = f"flatten={str(body.flatten).lower()}" + (f" reason={body.reason}" if body.reason else "")
    return _control(request, who, "halt", words, detail)  # type: ignore[no-any-return]


@router.post("/system/resume", summary="accept orders again (also lifts a daily-loss or reconciliation halt)")
def resume(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "resume", [])  # type: ignore[no-any-return]


@router.post("/system/flatten", summary="close every position with market orders")
def flatten(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "flatten", [])  # type: ignore[no-any-return]


@router.post("/system/reload", summary="re-read the config and re-plan (like SIGHUP)")
def reload(request: Request, who: SignedIn) -> dict[str, Any]:
    return _control(request, who, "reload", [])  # type: ignore[no-any-return]
