"""Logins and tokens on the in-memory stores with a clock the test moves: expiry, revocation, a
removed user, a changed role, a forged or foreign token, a shortened lifetime, the throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from mismarterad.api.auth_service import RECHECK_SECS, AuthService, LoginRefused, NotAuthenticated
from mismarterad.api.login_throttle import LoginThrottle
from mismarterad.api.passwords import hash_password
from mismarterad.api.user_admin import Actor, UserAdmin, UserAdminError
from mismarterad.core.access import Role, User
from mismarterad.core.clock import SimClock
from mismarterad.repositories.memory_access_store import MemoryTokenStore, MemoryUserStore
from mismarterad.repositories.memory_audit_log import MemoryAuditLog

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
KEY = bytes(range(32))
PASSWORD = "correct horse battery"


class Rig:
    def __init__(self) -> None:
        self.clock = SimClock(T0)
        self.tokens = MemoryTokenStore()
        self.users = MemoryUserStore(self.tokens)
        self.now = 0.0
        self.throttle = LoginThrottle(3, 5, 60.0, monotonic=lambda: self.now)
        self.auth = AuthService(self.users, self.tokens, KEY, self.clock, timedelta(minutes=30), self.throttle,
                                monotonic=lambda: self.now)
        self.audit = MemoryAuditLog()
        self.admin = UserAdmin(self.users, self.tokens, self.audit, self.clock)
        self.users.add(User("alice", Role.OPERATOR, hash_password(PASSWORD), T0))

    def later(self) -> None:
        """Past the recheck interval: the next authentication reads the stores again."""
        self.now += RECHECK_SECS


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_a_token_names_its_user_and_current_role_until_it_expires(rig: Rig) -> None:
    token, record = rig.auth.login("Alice", PASSWORD, "10.0.0.1")
    assert record.expires_utc == T0 + timedelta(minutes=30) and record.address == "10.0.0.1"
    who = rig.auth.authenticate(token)
    assert (who.user, who.role) == ("alice", Role.OPERATOR)
    rig.users.remove("alice")
    rig.users.add(User("alice", Role.VIEWER, hash_password(PASSWORD), T0))
    assert rig.auth.authenticate(token).role is Role.OPERATOR, "checked within the last second: not read again"
    rig.later()
    with pytest.raises(NotAuthenticated):  # removing the user dropped its tokens with it
        rig.auth.authenticate(token)
    token, _ = rig.auth.login("alice", PASSWORD, "10.0.0.1")
    assert rig.auth.authenticate(token).role is Role.VIEWER
    rig.clock.set(T0 + timedelta(minutes=30))  # expiry counts at once, checked recently or not
    with pytest.raises(NotAuthenticated, match="expired"):
        rig.auth.authenticate(token)


def test_a_revoked_token_is_refused_and_a_shorter_life_can_be_asked_for(rig: Rig) -> None:
    token, record = rig.auth.login("alice", PASSWORD, "::1", ttl=timedelta(seconds=5))
    assert record.expires_utc == T0 + timedelta(seconds=5)
    longer, record = rig.auth.login("alice", PASSWORD, "::1", ttl=timedelta(days=3))
    assert record.expires_utc == T0 + timedelta(minutes=30), "a client never lengthens the configured life"
    assert rig.auth.revoke(rig.auth.authenticate(token).token_id)
    with pytest.raises(NotAuthenticated, match="revoked"):
        rig.auth.authenticate(token)
    assert rig.auth.authenticate(longer).user == "alice"


def test_forged_foreign_and_garbled_tokens_are_invalid(rig: Rig) -> None:
    token, record = rig.auth.login("alice", PASSWORD, "::1")
    claims = {"sub": "alice", "jti": record.token_id, "exp": int((T0 + timedelta(hours=1)).timestamp())}
    for bad in (jwt.encode(claims, b"another key of thirty-two bytes!", algorithm="HS256"),
                jwt.encode({**claims, "jti": "made-up"}, KEY, algorithm="HS256"),
                jwt.encode({**claims, "sub": "mallory"}, KEY, algorithm="HS256"),
                token[:-3] + "abc", "not a token", ""):
        with pytest.raises(NotAuthenticated, match="invalid token"):
            rig.auth.authenticate(bad)


def test_failed_logins_are_throttled_per_user_and_per_address(rig: Rig) -> None:
    for _ in range(3):
        with pytest.raises(LoginRefused) as refused:
            rig.auth.login("alice", "wrong password!", "10.0.0.1")
        assert refused.value.retry_after is None
    with pytest.raises(LoginRefused) as refused:  # the right password too, while throttled
        rig.auth.login("alice", PASSWORD, "10.0.0.2")
    assert refused.value.retry_after == pytest.approx(60.0)
    rig.now = 61.0
    rig.auth.login("alice", PASSWORD, "10.0.0.2")
    for name in ("bob", "carol", "dave", "erin", "frank"):  # one address guessing many names
        with pytest.raises(LoginRefused):
            rig.auth.login(name, "guess guess guess", "10.0.0.9")
    with pytest.raises(LoginRefused) as refused:
        rig.auth.login("alice", PASSWORD, "10.0.0.9")
    assert refused.value.retry_after is not None
    rig.auth.login("alice", PASSWORD, "10.0.0.3")  # the user is not blocked elsewhere


def test_user_changes_are_checked_audited_and_revoke_tokens(rig: Rig) -> None:
    by = Actor("root", "local")
    with pytest.raises(UserAdminError) as bad:
        rig.admin.add("Bob!", "operator", PASSWORD, by)
    assert (bad.value.code, bad.value.field) == ("invalid", "name")
    with pytest.raises(UserAdminError) as bad:
        rig.admin.add("bob", "superuser", PASSWORD, by)
    assert bad.value.field == "role"
    with pytest.raises(UserAdminError) as bad:
        rig.admin.add("bob", "viewer", "short", by)
    assert bad.value.field == "password"
    with pytest.raises(UserAdminError) as bad:
        rig.admin.add("alice", "viewer", PASSWORD, by)
    assert bad.value.code == "exists"
    token, _ = rig.auth.login("alice", PASSWORD, "::1")
    assert rig.admin.set_password("alice", "a brand new password", by) == 1
    rig.later()
    with pytest.raises(NotAuthenticated, match="revoked"):
        rig.auth.authenticate(token)
    with pytest.raises(LoginRefused):
        rig.auth.login("alice", PASSWORD, "::1")
    rig.auth.login("alice", "a brand new password", "::1")
    assert [(u.name, u.role, u.live_tokens) for u in rig.admin.list()] == [("alice", "operator", 1)]
    with pytest.raises(UserAdminError) as bad:
        rig.admin.remove("nobody", by)
    assert bad.value.code == "not_found"
    results = [(e.action, e.result.split(":")[0]) for e in reversed(rig.audit.recent(10))]
    assert results == [("user add", "refused"), ("user add", "refused"), ("user add", "refused"),
                       ("user add", "refused"), ("user passwd", "ok"), ("user remove", "refused")]
    assert all(e.user == "root" and e.address == "local" for e in rig.audit.recent(10))
