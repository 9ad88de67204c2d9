"""A plain HTTP client of the daemon's REST API for end-to-end tests and the benchmark (urllib:
what the test sees is what any client gets, with no client library's help)."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.daemon_process import DaemonProcess, executable, make_daemon


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> dict[str, Any]:
        assert isinstance(self.body, dict) and "error" in self.body, self.body
        return self.body["error"]  # type: ignore[no-any-return]


@dataclass
class ApiClient:
    base: str  # http://127.0.0.1:PORT

    def request(self, method: str, path: str, token: str | None = None, body: Any = None,
                form: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                timeout: float = 15) -> Reply:
        sent = dict(headers or {})
        data = None
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as reply:
                return _reply(reply.status, reply.read(), dict(reply.headers))
        except urllib.error.HTTPError as exc:
            return _reply(exc.code, exc.read(), dict(exc.headers))

    def get(self, path: str, token: str | None = None, **kw: Any) -> Reply:
        return self.request("GET", path, token, **kw)

    def post(self, path: str, token: str | None = None, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, token, body, **kw)

    def login(self, user: str, password: str, address: str | None = None, **extra: str) -> Reply:
        headers = {"X-Forwarded-For": address} if address else None
        return self.post("/api/v1/auth/token", form={"username": user, "password": password, **extra},
                         headers=headers)

    def token(self, user: str, password: str, **extra: str) -> str:
        reply = self.login(user, password, **extra)
        assert reply.status == 200, reply
        return reply.body["access_token"]  # type: ignore[no-any-return]


def _reply(status: int, raw: bytes, headers: dict[str, str]) -> Reply:
    lowered = {k.lower(): v for k, v in headers.items()}
    if "json" in lowered.get("content-type", ""):
        return Reply(status, json.loads(raw), lowered)
    return Reply(status, raw, lowered)


def add_user(d: DaemonProcess, name: str, role: str, password: str) -> None:
    """`mismarterad user add` on the daemon's state directory (its database)."""
    done = subprocess.run([executable("mismarterad"), "user", "add", name, "--role", role, "--password-stdin"],
                          input=password + "\n", capture_output=True, text=True, env=d.env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


@contextmanager
def api_daemon(root: Path, data_dir: Path, port: int, users: dict[str, tuple[str, str]], start: str, speed: float,
               **api: object) -> Iterator[DaemonProcess]:
    """A ready daemon serving `[api]` on 127.0.0.1:`port` (more keys of the table in `api`), with
    `users` (name -> (role, password)) added before it starts; killed at the end."""
    d = make_daemon(root, data_dir, start=start, speed=speed, api={"address": f"127.0.0.1:{port}", **api})
    for name, (role, password) in users.items():
        add_user(d, name, role, password)
    d.start()
    try:
        d.wait_ready()
        yield d
    finally:
        d.kill()
        d.notify.close()
