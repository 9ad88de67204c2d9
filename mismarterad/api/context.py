"""What the routes work with, built once by api/server.py and kept on the app: the daemon's
narrow face, the control socket's command handler, the auth service, the users, the audit
trail, the events and the signer of report links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from mismarterad.api.auth_service import AuthService
from mismarterad.api.event_hub import EventHub
from mismarterad.api.file_links import FileLinks
from mismarterad.api.snapshot_watch import SnapshotWatch
from mismarterad.api.user_admin import UserAdmin
from mismarterad.core.audit import AuditLog
from mismarterad.core.clock import Clock
from mismarterad.daemon.control import DaemonControl
from mismarterad.daemon.control_server import Handler

__all__ = ["ApiCaller", "ApiContext", "api_status", "client_address", "context"]


def api_status(commands: Handler) -> dict[str, Any]:
    """`mismarterctl --json status` with `halted` as a boolean and the halt's since/by/reason/flatten
    beside it (`halted_since`, ...), for clients that test a flag."""
    view = dict(commands("status", {"words": []}, None))
    halt = view.get("halted")
    view["halted"] = halt is not None
    for key in ("since", "by", "reason", "flatten"):
        view[f"halted_{key}"] = halt.get(key) if isinstance(halt, dict) else None
    return view


@dataclass(frozen=True, slots=True)
class ApiContext:
    control: DaemonControl
    commands: Handler  # the control socket's commands (cli/control_api.py): the same answers and refusals
    auth: AuthService
    users: UserAdmin
    audit: AuditLog
    hub: EventHub
    watch: SnapshotWatch
    wall: Clock
    links: FileLinks

    def status(self) -> dict[str, Any]:
        return api_status(self.commands)


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """The signed-in user as a command's requester: a halt records `name` as who halted."""

    user: str
    address: str

    @property
    def name(self) -> str:
        return f"{self.user} (api, {self.address})"

    @property
    def pid(self) -> None:
        return None  # a remote user: no local process to name


def context(request: Request) -> ApiContext:
    return request.app.state.context  # type: ignore[no-any-return]


def client_address(request: Request) -> str:
    """The client's address: the peer's, or a trusted proxy's X-Forwarded-For (the request guard)."""
    return request.client.host if request.client is not None else "unknown"
