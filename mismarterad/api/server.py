"""The API served by the daemon, and the factory the CLI hands the daemon.

The HTTP half is the adapter in integrations/http_server: uvicorn in a thread of its own, whose
loop calls our synchronous routes in worker threads. The listening socket is bound here and the
TLS context made before that thread starts, so a busy port, a bad certificate or a key anyone
may read stops the daemon's start with exit 78 naming the key instead of failing in the
background.
"""

from __future__ import annotations

import socket
import stat
from datetime import timedelta
from pathlib import Path

import structlog
from sqlalchemy.orm import sessionmaker

from mismarterad.api.app import build_app
from mismarterad.api.auth_service import AuthService
from mismarterad.api.context import ApiContext, api_status
from mismarterad.api.event_hub import EventHub
from mismarterad.api.file_links import FileLinks
from mismarterad.api.login_throttle import LoginThrottle
from mismarterad.api.signing_key import load_signing_key
from mismarterad.api.snapshot_watch import SnapshotWatch
from mismarterad.api.user_admin import UserAdmin
from mismarterad.config.api_config import ApiConfig
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SystemClock
from mismarterad.core.errors import ConfigError
from mismarterad.core.hosts import is_loopback
from mismarterad.daemon.control import DaemonControl
from mismarterad.daemon.control_server import Handler
from mismarterad.db.engine import make_engine
from mismarterad.integrations.http_server.http_protocol import ConnectionLimits
from mismarterad.integrations.http_server.uvicorn_thread import HttpServer, NotServing, TlsFiles
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
        self._http: HttpServer | None = None
        self.port = 0

    def start(self) -> None:
        host, port = self._config.host_port
        cert, key = self._config.tls_cert, self._config.tls_key
        if key is not None:
            _check_key_mode(key)
        sock = _listen(host, port)
        self.port = int(sock.getsockname()[1])
        app = build_app(self._context, self._config.trusted_proxies, loopback_only=is_loopback(host))
        tls = TlsFiles(cert, key) if cert is not None and key is not None else None
        self._http = HttpServer(app, sock, self._limits, tls, thread_name="api-http")
        try:
            self._http.start(START_TIMEOUT_SECS)
        except NotServing:
            raise ConfigError(f"api.address: the API did not start on {host}:{self.port}") from None
        except OSError as exc:  # the TLS context: ssl.SSLError, or a file it cannot read
            raise ConfigError(f"api.tls_cert: cannot use {cert} with {key}: "
                              f"{getattr(exc, 'reason', None) or exc}") from None
        self._context.watch.start()
        log.info("api_listening", url=f"{'https' if tls else 'http'}://{host}:{self.port}/",
                 docs="/api/docs", lifetime_minutes=self._config.token_ttl_minutes)

    def stop(self) -> None:
        self._context.hub.close()  # ends the event streams, so the server need not wait for them
        self._context.watch.stop()
        if self._http is not None:
            self._http.stop(STOP_TIMEOUT_SECS)

    @property
    def alive(self) -> bool:
        return self._http is not None and self._http.alive and self._context.watch.alive


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
