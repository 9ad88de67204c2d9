"""Client side of the control socket: one JSON object per line each way.

The daemon drops a connection that sends no complete line within 5 s of connecting or of its
last reply, and the longest-idle one when it is full; the client therefore reconnects before a
request on a connection idle for RECONNECT_IDLE_SECS (the interactive shell) or already closed,
and retries for CONNECT_RETRY_SECS while the socket is full (EAGAIN) or refuses (ECONNREFUSED)
or the daemon answers `too_many_clients` (which it only sends for requests it did not run).
Still full after that: CtlError("busy"), which mismarterctl exits 75 on.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import socket
import time
from pathlib import Path
from typing import Any

__all__ = ["ControlClient", "CtlError", "default_socket_path"]

_ids = itertools.count(1)
MAX_LINE_BYTES = 1 << 20
CONNECT_RETRY_SECS = 3.0  # while the daemon's socket is full
REFUSED_RETRY_SECS = 1.0  # ECONNREFUSED: full for a moment, or a stale socket of a dead daemon
RECONNECT_IDLE_SECS = 3.0  # below the daemon's 5 s line deadline


class CtlError(Exception):
    """The daemon could not be reached or answered with an error; `code` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def default_socket_path() -> Path:
    """`$MISMARTERAD_SOCKET`, else `$RUNTIME_DIRECTORY`/`$XDG_RUNTIME_DIR` + mismarterad.sock."""
    explicit = os.environ.get("MISMARTERAD_SOCKET")
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("RUNTIME_DIRECTORY") or os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime.split(":")[0]) / "mismarterad.sock"
    return Path(f"/run/user/{os.getuid()}/mismarterad.sock")


class ControlClient:
    """A connection to a running daemon's control socket."""

    def __init__(self, path: Path, timeout_secs: float = 10.0) -> None:
        self._path = path
        self._timeout = timeout_secs
        self._sock = self._connect()
        self._reader = self._sock.makefile("rb")
        self._last_reply = time.monotonic()

    def _connect(self) -> socket.socket:
        path, started, delay = self._path, time.monotonic(), 0.02
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self._timeout)
            try:
                sock.connect(str(path))
                return sock
            except FileNotFoundError:
                sock.close()
                raise CtlError("not_running", f"the daemon is not running (no socket at {path})") from None
            except PermissionError:
                sock.close()
                raise CtlError("permission_denied",
                               f"no permission to open {path} (ask for the daemon's group)") from None
            except (BlockingIOError, InterruptedError, ConnectionRefusedError) as exc:
                sock.close()
                refused = isinstance(exc, ConnectionRefusedError)
                if time.monotonic() - started >= (REFUSED_RETRY_SECS if refused else CONNECT_RETRY_SECS):
                    if refused:
                        raise CtlError("not_running",
                                       f"the daemon is not running ({path} refuses connections)") from None
                    raise CtlError("busy", f"the daemon's control socket {path} is full "
                                           f"(too many connections for {CONNECT_RETRY_SECS:g} s); try again") from None
            except TimeoutError:
                sock.close()
                raise CtlError("timeout", f"no answer from the daemon within the timeout ({path})") from None
            except OSError as exc:
                sock.close()
                raise CtlError("not_running", f"cannot connect to {path}: {exc.strerror or exc}") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _reconnect(self) -> None:
        self.close()
        self._sock = self._connect()
        self._reader = self._sock.makefile("rb")
        self._last_reply = time.monotonic()

    def _stale(self) -> bool:
        """Idle long enough that the daemon may drop us, or already closed (or sent a farewell)."""
        if time.monotonic() - self._last_reply > RECONNECT_IDLE_SECS:
            return True
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, cmd: str, args: dict[str, Any] | None = None, timeout_secs: float | None = None) -> Any:
        """Send one request and return its `result`; raise CtlError on an error reply.
        `timeout_secs` replaces the client's timeout for this request (a slow command's own)."""
        started = time.monotonic()
        while True:
            if self._stale():
                self._reconnect()
            try:
                self._sock.settimeout(timeout_secs or self._timeout)
                return self._request_once(cmd, args)
            except CtlError as exc:
                if exc.code not in {"too_many_clients", "dropped_idle"}:  # requests the daemon did not run
                    raise
                if time.monotonic() - started >= CONNECT_RETRY_SECS:
                    raise CtlError("busy", f"the daemon is busy: {exc}; try again") from None
                time.sleep(0.05)
                self._reconnect()

    def _request_once(self, cmd: str, args: dict[str, Any] | None) -> Any:
        request_id = next(_ids)
        line = json.dumps({"id": request_id, "cmd": cmd, "args": args or {}}) + "\n"
        try:
            self._sock.sendall(line.encode())
            raw = self._reader.readline(MAX_LINE_BYTES)
        except TimeoutError:
            raise CtlError("timeout", f"no answer from the daemon within the timeout ({self._path})") from None
        except OSError as exc:
            raise CtlError("connection_lost", f"connection to the daemon lost: {exc}") from None
        if not raw:
            raise CtlError("connection_lost", "the daemon closed the connection")
        self._last_reply = time.monotonic()
        try:
            reply = json.loads(raw)
        except (ValueError, RecursionError):
            raise CtlError("bad_reply", "the daemon sent a line that is not JSON") from None
        if not isinstance(reply, dict):
            raise CtlError("bad_reply", "the daemon sent a reply that is not a JSON object")
        if reply.get("ok"):
            return reply.get("result")
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        code, message = str(error.get("code", "error")), str(error.get("message", "unknown error"))
        if code == "timeout" and reply.get("id") is None:  # its farewell to an idle connection: not run
            raise CtlError("dropped_idle", message)
        raise CtlError(code, message)
