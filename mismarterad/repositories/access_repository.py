"""The API's users and access tokens as stored (`api_users`, `api_tokens`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from mismarterad.core.access import IssuedToken, Role, User
from mismarterad.db.engine import DbSessionFactory
from mismarterad.db.tables import ApiTokenRow, ApiUserRow

__all__ = ["TokenRepository", "UserRepository"]


def _user(row: ApiUserRow) -> User:
    return User(row.name, Role(row.role), row.password_hash, row.created_utc)


def _token(row: ApiTokenRow) -> IssuedToken:
    return IssuedToken(row.token_id, row.user_name, row.issued_utc, row.expires_utc, row.address, row.revoked_utc)


class UserRepository:
    """Implements core/access.UserStore on the database."""

    def __init__(self, db_sessions: DbSessionFactory) -> None:
        self._db_sessions = db_sessions

    def add(self, user: User) -> None:
        try:
            with self._db_sessions.begin() as db:
                db.add(ApiUserRow(name=user.name, role=user.role.value, password_hash=user.password_hash,
                                  created_utc=user.created_utc))
        except IntegrityError:
            raise KeyError(user.name) from None

    def get(self, name: str) -> User | None:
        with self._db_sessions() as db:
            row = db.get(ApiUserRow, name)
            return _user(row) if row is not None else None

    def list(self) -> list[User]:
        with self._db_sessions() as db:
            return [_user(r) for r in db.scalars(select(ApiUserRow).order_by(ApiUserRow.name))]

    def set_password(self, name: str, password_hash: str) -> bool:
        with self._db_sessions.begin() as db:
            done = db.execute(update(ApiUserRow).where(ApiUserRow.name == name).values(password_hash=password_hash))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def remove(self, name: str) -> bool:
        with self._db_sessions.begin() as db:
            db.execute(delete(ApiTokenRow).where(ApiTokenRow.user_name == name))
            done = db.execute(delete(ApiUserRow).where(ApiUserRow.name == name))
            return bool(done.rowcount)  # type: ignore[attr-defined]


class TokenRepository:
    """Implements core/access.TokenStore on the database."""

    def __init__(self, db_sessions: DbSessionFactory) -> None:
        self._db_sessions = db_sessions

    def add(self, token: IssuedToken) -> None:
        with self._db_sessions.begin() as db:
            db.add(ApiTokenRow(token_id=token.token_id, user_name=token.user, issued_utc=token.issued_utc,
                               expires_utc=token.expires_utc, revoked_utc=token.revoked_utc, address=token.address))

    def get(self, token_id: str) -> IssuedToken | None:
        with self._db_sessions() as db:
            row = db.get(ApiTokenRow, token_id)
            return _token(row) if row is not None else None

    def revoke(self, token_id: str, at_utc: datetime) -> bool:
        with self._db_sessions.begin() as db:
            done = db.execute(update(ApiTokenRow).where(ApiTokenRow.token_id == token_id,
                                                        ApiTokenRow.revoked_utc.is_(None)).values(revoked_utc=at_utc))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def revoke_user(self, name: str, at_utc: datetime) -> int:
        with self._db_sessions.begin() as db:
            done = db.execute(update(ApiTokenRow).where(ApiTokenRow.user_name == name, ApiTokenRow.revoked_utc.is_(None),
                                                        ApiTokenRow.expires_utc > at_utc).values(revoked_utc=at_utc))
            return int(done.rowcount)  # type: ignore[attr-defined]

    def live(self, name: str, now_utc: datetime) -> int:
        with self._db_sessions() as db:
            return int(db.scalar(select(func.count()).select_from(ApiTokenRow).where(
                ApiTokenRow.user_name == name, ApiTokenRow.revoked_utc.is_(None),
                ApiTokenRow.expires_utc > now_utc)) or 0)

    def signed_in_from(self, name: str, address: str, since_utc: datetime) -> bool:
        with self._db_sessions() as db:
            return db.scalar(select(ApiTokenRow.token_id).where(
                ApiTokenRow.user_name == name, ApiTokenRow.address == address,
                ApiTokenRow.issued_utc >= since_utc).limit(1)) is not None

    def prune(self, expired_before_utc: datetime) -> int:
        with self._db_sessions.begin() as db:
            done = db.execute(delete(ApiTokenRow).where(ApiTokenRow.expires_utc < expired_before_utc))
            return int(done.rowcount)  # type: ignore[attr-defined]
