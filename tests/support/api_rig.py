"""The REST API in-process over a stand-in daemon: the real application (request guard, routes,
lanes), auth service, user admin, event hub and the control socket's own command handler
(cli/control_api.py), on the in-memory stores; the daemon answers from a frozen snapshot and
records what it is asked. `client()` speaks to the app through Starlette's TestClient;
`server()` serves it with the real uvicorn on a real socket, for what happens on connections."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from starlette.testclient import TestClient
from support.daemon_snapshots import NOW, NY, daemon_snapshot, pipeline_snapshot

from mismarterad.api.app import build_app
from mismarterad.api.auth_service import AuthService
from mismarterad.api.context import ApiContext, api_status
from mismarterad.api.event_hub import EventHub
from mismarterad.api.file_links import FileLinks
from mismarterad.integrations.http_server.http_protocol import ConnectionLimits
from mismarterad.api.login_throttle import LoginThrottle
from mismarterad.api.passwords import hash_password
from mismarterad.api.server import ApiServer
from mismarterad.api.snapshot_watch import SnapshotWatch
from mismarterad.api.user_admin import UserAdmin
from mismarterad.cli.control_api import ControlApi
from mismarterad.config.api_config import ApiConfig
from mismarterad.core.access import Role, User
from mismarterad.core.audit import AuditEntry
from mismarterad.core.clock import SystemClock
from mismarterad.core.halt import HaltState
from mismarterad.core.market_data import Bar
from mismarterad.daemon.control import DaemonSnapshot, HaltOutcome
from mismarterad.repositories.memory_access_store import MemoryTokenStore, MemoryUserStore
from mismarterad.repositories.memory_audit_log import MemoryAuditLog

__all__ = ["KEY", "PASSWORDS", "ApiRig", "StandInDaemon"]

KEY = bytes(range(32))
PASSWORDS = {"ada": ("admin", "admin password 1"), "olga": ("operator", "operator password"),
             "vic": ("viewer", "viewer password 1")}


@functools.cache
def _hash(password: str) -> str:  # argon2 takes a quarter of a second: once per password per run
    return hash_password(password)


@dataclass
class StandInDaemon:
    """A DaemonControl that answers from a frozen snapshot and records the actions it is asked for."""

    reports_dir: Path
    halted: HaltState | None = None
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def time_manager(self) -> Any:
        return SimpleNamespace(timezone=NY)

    def snapshot(self) -> DaemonSnapshot:
        return daemon_snapshot(pipeline_snapshot(), halted=self.halted)

    def halt(self, by: str, reason: str, flatten: bool) -> HaltOutcome:
        self.calls.append(("halt", by, reason, flatten))
        self.halted = HaltState(NOW, by, reason, flatten)
        return HaltOutcome(self.halted, True, ("o3",), ())

    def resume(self, by: str) -> HaltOutcome:
        self.calls.append(("resume", by))
        self.halted = None
        return HaltOutcome(None, True)

    def flatten(self) -> list[str]:
        self.calls.append(("flatten",))
        return []

    def stored_bars(self, symbol: str, interval: str, start: date, end: date) -> list[Bar]:
        self.calls.append(("bars", symbol, interval, start, end))
        return [Bar(symbol, interval, NOW + timedelta(minutes=i), 127.0, 127.5, 126.5, 127.2, 100) for i in range(3)]


class FailingAuditLog(MemoryAuditLog):
    """An audit table whose writes fail (the database went away), until `fail` is cleared."""

    fail = True

    def record(self, entry: AuditEntry) -> AuditEntry:
        if self.fail:
            raise OSError("the database is away")
        return super().record(entry)


class ApiRig:
    def __init__(self, root: Path, trusted_proxies: tuple[str, ...] = (), audit: MemoryAuditLog | None = None,
                 per_user: int = 5, per_address: int = 20) -> None:
        self.daemon = StandInDaemon(root / "reports")
        self.tokens = MemoryTokenStore()
        self.users = MemoryUserStore(self.tokens)
        wall = SystemClock()
        for name, (role, password) in PASSWORDS.items():
            self.users.add(User(name, Role(role), _hash(password), wall.now()))
        self.audit = audit if audit is not None else MemoryAuditLog()
        self.auth = AuthService(self.users, self.tokens, KEY, wall, timedelta(minutes=30),
                                LoginThrottle(per_user, per_address, 900.0))
        commands = ControlApi(self.daemon).handle  # type: ignore[arg-type]
        self.hub = EventHub()
        watch = SnapshotWatch(self.daemon, lambda: api_status(commands), self.hub)  # type: ignore[arg-type]
        admin = UserAdmin(self.users, self.tokens, self.audit, wall, forget=self.auth.forget_user)
        self.context = ApiContext(self.daemon, commands, self.auth, admin, self.audit, self.hub, watch,  # type: ignore[arg-type]
                                  wall, FileLinks(KEY, wall))
        self.trusted_proxies = trusted_proxies

    def token(self, name: str) -> str:
        return self.auth.login(name, PASSWORDS[name][1], "127.0.0.1")[0]

    @contextmanager
    def client(self, peer: str = "127.0.0.1", https: bool = False) -> Iterator[TestClient]:
        app = build_app(self.context, self.trusted_proxies, loopback_only=True)
        base = f"{'https' if https else 'http'}://127.0.0.1:8321"
        with TestClient(app, base_url=base, client=(peer, 50000), raise_server_exceptions=False) as client:
            yield client

    @contextmanager
    def server(self, limits: ConnectionLimits | None = None, address: str = "127.0.0.1:0",
               **api: Any) -> Iterator[ApiServer]:
        served = ApiServer(self.context, ApiConfig(address=address, **api), limits)
        served.start()
        try:
            yield served
        finally:
            served.stop()
