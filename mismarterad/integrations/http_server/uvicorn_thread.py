"""An ASGI application served by uvicorn in a thread of its own, started and stopped from plain
threads.

uvicorn runs its asyncio loop in that one thread (the library's asyncio, as the broker stream
adapters run theirs). The caller binds the listening socket before the start, so a busy port is
its error, named its way; the TLS context is made in `start` before the thread exists, so a bad
certificate or key fails the start instead of the background. Connections are capped and must
send their requests in time (http_protocol.py); websockets are off, uvicorn's own access log and
Server header too, and forwarded headers are left to the request guard.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from mismarterad.integrations.http_server.http_protocol import ConnectionLimits, limited_protocol

__all__ = ["HttpServer", "NotServing", "TlsFiles"]

GRACEFUL_SHUTDOWN_SECS = 3


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path  # PEM certificate (chain)
    key: Path  # PEM private key


class NotServing(Exception):
    """The server's thread ended, or it did not start serving in time."""


class HttpServer:
    def __init__(self, app: ASGIApp, sock: socket.socket, limits: ConnectionLimits, tls: TlsFiles | None,
                 thread_name: str) -> None:
        """`sock`: bound, listening and non-blocking; the server owns it from here."""
        self._sock, self._thread_name = sock, thread_name
        self._config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning", lifespan="off",
                                      server_header=False, proxy_headers=False, http=limited_protocol(limits),
                                      ws="none", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECS,
                                      ssl_certfile=str(tls.cert) if tls else None,
                                      ssl_keyfile=str(tls.key) if tls else None)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout_secs: float) -> None:
        """Serve, returning once the server accepts connections.

        Raises OSError (ssl.SSLError among them) if the TLS certificate or key cannot be used (the
        socket is then closed), NotServing if the server did not start within `timeout_secs`.
        """
        try:
            self._config.load()  # the TLS context is made here
        except OSError:
            self._sock.close()
            raise
        server = self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [self._sock]}, name=self._thread_name,
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_secs
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise NotServing(self._thread_name)
            time.sleep(0.01)

    def stop(self, timeout_secs: float) -> None:
        """Ask the server to end (open responses get GRACEFUL_SHUTDOWN_SECS) and wait for its thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout_secs)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
