"""Sign-in, tokens, users (admin) and the audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from mismarterad.api.auth_service import LoginRefused
from mismarterad.api.context import client_address, context
from mismarterad.api.errors import ApiError, retry_after_header
from mismarterad.api.request_body import RawBody, parsed
from mismarterad.api.security import Admin, SignedIn
from mismarterad.integrations.http_server.lanes import in_lane
from mismarterad.api.user_admin import Actor, UserAdminError

__all__ = ["audit_record", "router"]

log = structlog.get_logger(component="api_auth")
router = APIRouter(tags=["auth"])
_ADMIN_STATUS = {"invalid": 422, "not_found": 404, "exists": 409, "refused": 409}
_CROSS_SITE = {"cross-site", "same-site"}  # Sec-Fetch-Site of a request another site's page made


@router.post("/auth/token", summary="sign in: a bearer token for a user name and password (form fields)")
@in_lane("login")
def token(request: Request, username: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=2048)],
          expires_in: Annotated[int | None, Form(ge=1, description="seconds; at most the configured lifetime")] = None,
          ) -> dict[str, Any]:
    if request.headers.get("sec-fetch-site") in _CROSS_SITE:  # a page elsewhere cannot spend anyone's login budget
        raise ApiError(403, "cross_site", "sign in from this API's own console or a script, not from another site")
    ctx, address = context(request), client_address(request)
    try:
        signed, record = ctx.auth.login(username, password, address,
                                        None if expires_in is None else timedelta(seconds=expires_in))
    except LoginRefused as exc:
        if exc.announce:  # a throttled key is logged once per window: a flood must not crowd the journal
            # the name only when it is a user's: a password typed into the name field stays out of the journal
            log.warning("api_login_refused", user=exc.user, address=address,
                        reason="throttled" if exc.retry_after is not None else "bad_credentials")
        if exc.retry_after is not None:
            raise ApiError(429, "too_many_logins", str(exc), headers=retry_after_header(exc.retry_after)) from None
        raise ApiError(401, "bad_credentials", str(exc)) from None
    log.info("api_login", user=record.user, address=address)
    return {"access_token": signed, "token_type": "bearer",
            "expires_in": int((record.expires_utc - record.issued_utc).total_seconds())}


@router.post("/auth/revoke", summary="sign out: revoke the token this request carries")
def revoke(request: Request, who: SignedIn) -> dict[str, Any]:
    context(request).auth.revoke(who.token_id)
    log.info("api_logout", user=who.user, address=client_address(request))
    return {"revoked": True}


@router.get("/auth/me", summary="the signed-in user, its role and its token's expiry")
def me(who: SignedIn) -> dict[str, Any]:
    return {"user": who.user, "role": who.role.value, "expires": who.expires_utc.isoformat()}


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    role: str = Field(max_length=40)
    password: str = Field(max_length=2048)


_NEW_USER_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": NewUser.model_json_schema()}}}}


def _admin_call(request: Request, who: Admin, change: Any) -> Any:
    try:
        return change(Actor(who.user, client_address(request)))
    except UserAdminError as exc:
        raise ApiError(_ADMIN_STATUS[exc.code], exc.code, str(exc), exc.field) from None


@router.get("/users", summary="the users, their roles and live tokens (admin)")
def users(request: Request, _who: Admin) -> list[dict[str, Any]]:
    return [{"name": u.name, "role": u.role, "created": u.created_utc.isoformat(), "live_tokens": u.live_tokens}
            for u in context(request).users.list()]


@router.post("/users", status_code=201, summary="add a user (admin)", openapi_extra=_NEW_USER_BODY)
def add_user(request: Request, who: Admin, raw: RawBody) -> dict[str, Any]:
    body = parsed(NewUser, raw, required=True)  # read after the role check: a non-admin learns nothing of it
    _admin_call(request, who, lambda by: context(request).users.add(body.name, body.role, body.password, by))
    return {"name": body.name, "role": body.role}


@router.delete("/users/{name}", summary="remove a user and its tokens (admin)")
def remove_user(request: Request, who: Admin, name: str) -> dict[str, Any]:
    _admin_call(request, who, lambda by: context(request).users.remove(name, by))
    return {"removed": name}


@router.post("/users/{name}/revoke", summary="revoke every token of a user (admin)")
def revoke_user(request: Request, who: Admin, name: str) -> dict[str, Any]:
    return {"revoked": _admin_call(request, who, lambda by: context(request).users.revoke(name, by))}


def audit_record(entry: Any) -> dict[str, Any]:
    return {"id": entry.id, "time": entry.ts_utc.isoformat(), "user": entry.user, "action": entry.action,
            "detail": entry.detail, "result": entry.result, "address": entry.address}


@router.get("/audit", summary="the newest control actions and user changes, newest first")
def audit(request: Request, _who: SignedIn, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return [audit_record(e) for e in context(request).audit.recent(limit)]
