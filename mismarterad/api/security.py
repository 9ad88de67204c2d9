"""Who is asking: the bearer token of each request, and the role a route needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from mismarterad.api.auth_service import NotAuthenticated, Principal
from mismarterad.api.context import context
from mismarterad.api.errors import ApiError
from mismarterad.core.access import Role

__all__ = ["Admin", "BearerToken", "SignedIn", "forbidden", "signed_in"]

# auto_error=False: a missing token gets our error shape, not FastAPI's
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
BearerToken = Annotated[str | None, Depends(_bearer)]


def signed_in(request: Request, token: BearerToken) -> Principal:
    """The request's user; 401 without a usable token."""
    if not token:
        raise ApiError(401, "not_authenticated", "sign in: send Authorization: Bearer <token> "
                                                 "(POST /api/v1/auth/token gives one)", headers=_CHALLENGE)
    try:
        return context(request).auth.authenticate(token)
    except NotAuthenticated as exc:
        raise ApiError(401, "not_authenticated", str(exc), headers=_CHALLENGE) from None


def forbidden(who: Principal, needed: Role, what: str) -> ApiError:
    return ApiError(403, "forbidden", f"{what} needs the {needed.value} role; {who.user} is {who.role.value}")


def _admin(who: Annotated[Principal, Depends(signed_in)]) -> Principal:
    if not who.role.allows(Role.ADMIN):
        raise forbidden(who, Role.ADMIN, "managing users")
    return who


SignedIn = Annotated[Principal, Depends(signed_in)]
Admin = Annotated[Principal, Depends(_admin)]
