"""Logins and tokens on the in-memory stores with a clock the test moves: expiry, revocation, a
removed user, a changed role, a forged, foreign or unsigned token, a shortened lifetime, the
throttle (attempts counted before the password is checked, the operator's own address), the
cache of checked tokens against revocations, the last admin, old token rows pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from mismarterad.api.auth_service import PRUNE_AFTER, RECHECK_SECS, AuthService, LoginRefused, NotAuthenticated
from mismarterad.api.login_throttle import LoginThrottle
from mismarterad.api.passwords import hash_password, verify_password
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
        self.admin = UserAdmin(self.users, self.tokens, self.audit, self.clock, forget=self.auth.forget_user)
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
                jwt.encode(claims, None, algorithm="none"),  # unsigned: never accepted, whatever it claims
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


def test_concurrent_guesses_are_counted_before_any_password_is_checked(rig: Rig) -> None:
    seen: list[object] = []

    def verify(password_hash: str | None, password: str) -> bool:
        seen.append(rig.throttle.begin("probe", "10.9.9.9"))  # what a login arriving now would find
        return verify_password(password_hash, password)

    auth = AuthService(rig.users, rig.tokens, KEY, rig.clock, timedelta(minutes=30), rig.throttle,
                       monotonic=lambda: rig.now, verify=verify)
    for _ in range(2):
        with pytest.raises(LoginRefused):
            auth.login("alice", "wrong password!", "10.9.9.9")
    with pytest.raises(LoginRefused) as refused:  # the third guess: counted while its password was checked
        auth.login("alice", "wrong password!", "10.9.9.9")
    assert refused.value.retry_after is None and len(seen) == 3
    with pytest.raises(LoginRefused) as refused:
        auth.login("alice", PASSWORD, "10.0.0.1")
    assert refused.value.retry_after is not None and len(seen) == 3, "refused without a password check"


def test_a_guesser_elsewhere_cannot_lock_the_operator_out_of_the_address_it_works_from(rig: Rig) -> None:
    rig.auth.login("alice", PASSWORD, "10.0.0.7")  # alice's own address, from an earlier day
    for n in range(3):
        with pytest.raises(LoginRefused):
            rig.auth.login("alice", "a wrong guess!", f"198.51.100.{n}")
    with pytest.raises(LoginRefused) as refused:
        rig.auth.login("alice", PASSWORD, "10.0.0.8")
    assert refused.value.retry_after is not None
    assert rig.auth.login("alice", PASSWORD, "10.0.0.7")[1].user == "alice"


def test_refusals_name_the_user_only_when_it_is_one(rig: Rig) -> None:
    with pytest.raises(LoginRefused) as refused:
        rig.auth.login("Alice", "a wrong guess!", "10.0.0.1")
    assert refused.value.user == "alice" and refused.value.announce
    with pytest.raises(LoginRefused) as refused:
        rig.auth.login("correct horse battery", "", "10.0.0.1")  # a password typed into the name field
    assert refused.value.user is None
    for _ in range(2):
        with pytest.raises(LoginRefused):
            rig.auth.login("alice", "a wrong guess!", "10.0.0.1")
    announced = []
    for _ in range(3):
        with pytest.raises(LoginRefused) as refused:
            rig.auth.login("alice", PASSWORD, "10.0.0.2")
        announced.append((refused.value.announce, refused.value.user))
    assert announced == [(True, "alice"), (False, None), (False, None)]


def test_a_revocation_during_a_check_is_not_undone_by_the_cache(rig: Rig) -> None:
    token, record = rig.auth.login("alice", PASSWORD, "::1")
    real_get = rig.tokens.get

    def get_then_revoke(token_id: str) -> object:
        row = real_get(token_id)  # read while the token still stood ...
        rig.auth.revoke(token_id)  # ... and revoked before the check is remembered
        return row

    rig.tokens.get = get_then_revoke  # type: ignore[method-assign]
    assert rig.auth.authenticate(token).token_id == record.token_id  # this request was checked before
    rig.tokens.get = real_get  # type: ignore[method-assign]
    with pytest.raises(NotAuthenticated, match="revoked"):
        rig.auth.authenticate(token)


def test_an_admins_revocation_counts_at_once_and_the_last_admin_stays(rig: Rig) -> None:
    token, _ = rig.auth.login("alice", PASSWORD, "::1")
    rig.auth.authenticate(token)
    by = Actor("root", "local")
    assert rig.admin.revoke("alice", by) == 1
    with pytest.raises(NotAuthenticated, match="revoked"):  # within RECHECK_SECS of the last check
        rig.auth.authenticate(token)
    rig.users.add(User("root", Role.ADMIN, hash_password(PASSWORD), T0))
    with pytest.raises(UserAdminError) as refused:
        rig.admin.remove("root", by)
    assert refused.value.code == "refused" and "last admin" in str(refused.value)
    rig.admin.add("second", "admin", "another good password", by)
    rig.admin.remove("root", by)
    assert [u.name for u in rig.admin.list()] == ["alice", "second"]


def test_token_rows_are_pruned_a_while_after_they_expire(rig: Rig) -> None:
    _, old = rig.auth.login("alice", PASSWORD, "::1")
    rig.clock.set(T0 + timedelta(minutes=30) + PRUNE_AFTER + timedelta(hours=1))
    _, new = rig.auth.login("alice", PASSWORD, "::1")
    assert rig.tokens.get(old.token_id) is None and rig.tokens.get(new.token_id) == new
