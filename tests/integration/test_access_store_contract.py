"""One contract for the API's user, token and audit stores, run against the in-memory twins and
the database tables (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from mismarterad.core.access import IssuedToken, Role, TokenStore, User, UserStore
from mismarterad.core.audit import MAX_AUDIT_TEXT, AuditEntry, AuditLog
from mismarterad.db.engine import DbSessionFactory
from mismarterad.repositories.access_repository import TokenRepository, UserRepository
from mismarterad.repositories.audit_repository import AuditRepository
from mismarterad.repositories.memory_access_store import MemoryTokenStore, MemoryUserStore
from mismarterad.repositories.memory_audit_log import MemoryAuditLog

T = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@dataclass
class Stores:
    users: UserStore
    tokens: TokenStore
    audit: AuditLog


@pytest.fixture(params=["memory", "database"])
def stores(request: pytest.FixtureRequest, db_sessions: DbSessionFactory) -> Stores:
    if request.param == "memory":
        tokens = MemoryTokenStore()
        return Stores(MemoryUserStore(tokens), tokens, MemoryAuditLog())
    return Stores(UserRepository(db_sessions), TokenRepository(db_sessions), AuditRepository(db_sessions))


def _token(token_id: str, user: str, life: timedelta = timedelta(hours=1)) -> IssuedToken:
    return IssuedToken(token_id, user, T, T + life, "127.0.0.1")


def test_users_are_added_once_listed_by_name_changed_and_removed_with_their_tokens(stores: Stores) -> None:
    stores.users.add(User("bob", Role.VIEWER, "$argon2id$bob", T))
    stores.users.add(User("alice", Role.ADMIN, "$argon2id$alice", T))
    with pytest.raises(KeyError):
        stores.users.add(User("bob", Role.ADMIN, "$argon2id$other", T))
    assert [(u.name, u.role) for u in stores.users.list()] == [("alice", Role.ADMIN), ("bob", Role.VIEWER)]
    assert stores.users.get("bob") == User("bob", Role.VIEWER, "$argon2id$bob", T)
    assert stores.users.set_password("bob", "$argon2id$new") and not stores.users.set_password("nobody", "x")
    assert stores.users.get("bob").password_hash == "$argon2id$new"  # type: ignore[union-attr]
    stores.tokens.add(_token("t1", "bob"))
    stores.tokens.add(_token("t2", "alice"))
    assert stores.users.remove("bob") and not stores.users.remove("bob")
    assert stores.users.get("bob") is None and stores.tokens.get("t1") is None
    assert stores.tokens.get("t2") == _token("t2", "alice")


def test_tokens_are_revoked_one_by_one_or_all_of_a_user_and_counted_while_live(stores: Stores) -> None:
    for name in ("alice", "bob"):
        stores.users.add(User(name, Role.OPERATOR, "$argon2id$h", T))
    stores.tokens.add(_token("a1", "alice"))
    stores.tokens.add(_token("a2", "alice"))
    stores.tokens.add(_token("a3", "alice", timedelta(minutes=1)))
    stores.tokens.add(_token("b1", "bob"))
    assert stores.tokens.live("alice", T) == 3 and stores.tokens.live("alice", T + timedelta(minutes=1)) == 2
    assert stores.tokens.revoke("a1", T + timedelta(seconds=1))
    assert not stores.tokens.revoke("a1", T + timedelta(seconds=2)), "revoked once: the first time is kept"
    assert not stores.tokens.revoke("nope", T)
    assert stores.tokens.get("a1").revoked_utc == T + timedelta(seconds=1)  # type: ignore[union-attr]
    assert stores.tokens.revoke_user("alice", T + timedelta(minutes=2)) == 1, "a3 has expired: not counted"
    assert stores.tokens.live("alice", T + timedelta(minutes=2)) == 0 and stores.tokens.live("bob", T) == 1
    assert stores.tokens.get("a2").revoked_utc == T + timedelta(minutes=2)  # type: ignore[union-attr]
    assert stores.tokens.get("a3").revoked_utc is None  # type: ignore[union-attr]


def test_the_audit_log_numbers_entries_cuts_long_text_and_lists_newest_first(stores: Stores) -> None:
    first = stores.audit.record(AuditEntry(T, "alice", "halt", "flatten=true", "ok", "10.0.0.1"))
    second = stores.audit.record(AuditEntry(T + timedelta(seconds=1), "bob", "start", "", "refused: " + "x" * 900,
                                            "10.0.0.2"))
    assert first.id is not None and second.id is not None and second.id > first.id
    assert len(second.result) == MAX_AUDIT_TEXT
    assert stores.audit.recent(10) == [second, first]
    assert stores.audit.recent(1) == [second]


def test_where_a_user_signed_in_is_known_and_long_expired_tokens_are_pruned(stores: Stores) -> None:
    stores.users.add(User("alice", Role.OPERATOR, "$argon2id$h", T))
    stores.tokens.add(IssuedToken("old", "alice", T - timedelta(days=40), T - timedelta(days=39), "10.0.0.1"))
    stores.tokens.add(IssuedToken("new", "alice", T, T + timedelta(hours=8), "10.0.0.2"))
    assert stores.tokens.signed_in_from("alice", "10.0.0.2", T - timedelta(days=30))
    assert not stores.tokens.signed_in_from("alice", "10.0.0.1", T - timedelta(days=30)), "too long ago"
    assert stores.tokens.signed_in_from("alice", "10.0.0.1", T - timedelta(days=41))
    assert not stores.tokens.signed_in_from("bob", "10.0.0.2", T - timedelta(days=30))
    assert stores.tokens.prune(T - timedelta(days=30)) == 1
    assert stores.tokens.get("old") is None and stores.tokens.get("new") is not None
    assert stores.tokens.prune(T - timedelta(days=30)) == 0
