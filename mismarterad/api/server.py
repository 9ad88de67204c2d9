"""The API served by the daemon: uvicorn in a thread of its own, and the factory the CLI hands the daemon.

uvicorn runs its asyncio loop in that one thread (the library's asyncio, as the Alpaca stream
adapter's); the routes call our synchronous code in worker threads (api/thread_lanes.py). The
listening socket is bound here, before the thread starts, so a busy port or a bad certificate
stops the daemon's start with exit 78 naming the key instead of failing in the background.
Connections are capped and must send their requests in time (api/http_protocol.py); uvicorn's
websocket support is off (the API has none).
"""

from __future__ import annotations

import socket
import ssl
import stat
import threading
import time
from datetime import timedelta
from pathlib import Path

import structlog
import uvicorn
from sqlalchemy.orm import sessionmaker

from mismarterad.api.app import build_app
from mismarterad.api.auth_service import AuthService
from mismarterad.api.context import ApiContext, api_status
from mismarterad.api.event_hub import EventHub
from mismarterad.api.file_links import FileLinks
from mismarterad.api.http_protocol import ConnectionLimits, limited_protocol
from mismarterad.api.login_throttle import LoginThrottle
from mismarterad.api.signing_key import load_signing_key
from mismarterad.api.snapshot_watch import SnapshotWatch
from mismarterad.api.user_admin import UserAdmin
from mismarterad.config.api_config import ApiConfig, is_loopback
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SystemClock
from mismarterad.core.errors import ConfigError
from mismarterad.daemon.control import DaemonControl
from mismarterad.daemon.control_server import Handler
from mismarterad.db.engine import make_engine
from mismarterad.repositories.access_repository import TokenRepository, UserRepository
from mismarterad.repositories.audit_repository import AuditRepository

__all__ = ["ApiServer", "build_api"]

log = structlog.get_logger(component="api")

START_TIMEOUT_SECS = 15.0
STOP_TIMEOUT_SECS = 5.0


class ApiServer:
    """Implements daemon/control.FrontEnd."""

    def __init__(self, context: ApiContext, config: ApiConfig, limits: ConnectionLimits | None = None) -> None:
        self._context, self._config, self._limits = context, config, limits or ConnectionLimits()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> None:
        host, port = self._config.host_port
        tls = self._config.tls_cert is not None
        if self._config.tls_key is not None:
            _check_key_mode(self._config.tls_key)
        sock = _listen(host, port)
        self.port = int(sock.getsockname()[1])
        app = build_app(self._context, self._config.trusted_proxies, loopback_only=is_loopback(host))
        config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning", lifespan="off",
                                server_header=False, proxy_headers=False,  # the request guard does it
                                http=limited_protocol(self._limits), ws="none", timeout_graceful_shutdown=3,
                                ssl_certfile=str(self._config.tls_cert) if tls else None,
                                ssl_keyfile=str(self._config.tls_key) if tls else None)
        try:
            config.load()  # the TLS context is made here: a bad certificate or key fails the start
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise ConfigError(f"api.tls_cert: cannot use {self._config.tls_cert} with {self._config.tls_key}: "
                              f"{getattr(exc, 'reason', None) or exc}") from None
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, name="api-http",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"api.address: the API did not start on {host}:{self.port}")
            time.sleep(0.01)
        self._context.watch.start()
        log.info("api_listening", url=f"{'https' if tls else 'http'}://{host}:{self.port}/",
                 docs="/api/docs", lifetime_minutes=self._config.token_ttl_minutes)

    def stop(self) -> None:
        self._context.hub.close()  # ends the event streams, so the server need not wait for them
        self._context.watch.stop()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(STOP_TIMEOUT_SECS)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._context.watch.alive


def _check_key_mode(key: Path) -> None:
    try:
        mode = stat.S_IMODE(key.stat().st_mode)
    except OSError:
        return  # unreadable: the TLS context's load names it
    if mode & 0o007:
        raise ConfigError(f"api.tls_key: {key} has mode {mode:04o}, which lets every user read the TLS private key: "
                          f"allow the daemon's user (and its group) only (chmod 640 {key})")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"api.address: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def build_api(control: DaemonControl, commands: Handler, config: ApiConfig, settings: Settings) -> ApiServer:
    """The API over a daemon: its own database engine on the daemon's database (which the daemon
    migrates before the API starts), the signing key from the state directory, wall-clock token
    lifetimes."""
    db_sessions = sessionmaker(make_engine(settings.database_url_value), expire_on_commit=False)
    users, tokens, audit = UserRepository(db_sessions), TokenRepository(db_sessions), AuditRepository(db_sessions)
    wall = SystemClock()
    throttle = LoginThrottle(config.login_failures_per_user, config.login_failures_per_address,
                             config.login_window_minutes * 60.0)
    key = load_signing_key(settings.state_dir)
    auth = AuthService(users, tokens, key, wall, timedelta(minutes=config.token_ttl_minutes), throttle)
    hub = EventHub()
    watch = SnapshotWatch(control, lambda: api_status(commands), hub)
    admin = UserAdmin(users, tokens, audit, wall, forget=auth.forget_user)
    return ApiServer(ApiContext(control, commands, auth, admin, audit, hub, watch, wall, FileLinks(key, wall)), config)
