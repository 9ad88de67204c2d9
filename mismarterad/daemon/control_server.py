"""The control socket: a unix stream socket speaking one JSON object per line.

Request `{"id": ..., "cmd": "...", "args": {...}}`; reply `{"id": ..., "ok": true, "result": ...}`
or `{"id": ..., "ok": false, "error": {"code": ..., "message": ...}}`. The socket file is mode
0660 (group: `socket_group` if configured); each peer is checked with SO_PEERCRED and must be
root, the daemon's own uid, or a member of that group. A bad line gets an error reply; an
oversized line, a refused peer or an idle client is disconnected; at most MAX_CLIENTS connect
at once. Nothing a client does can stop the daemon or reach another client.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from mismarterad.core.errors import ConfigError

__all__ = ["MAX_CLIENTS", "MAX_LINE_BYTES", "PROTOCOL_VERSION", "CommandError", "ControlServer"]

log = structlog.get_logger(component="control_socket")

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 64 * 1024
MAX_CLIENTS = 32
IDLE_TIMEOUT_SECS = 60.0
SEND_TIMEOUT_SECS = 5.0

Handler = Callable[[str, dict[str, Any]], Any]


class CommandError(Exception):
    """A request the daemon refuses; `code` is the machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ControlServer:
    """Accepts clients on a thread; each client is served by its own thread."""

    def __init__(self, path: Path, handler: Handler, group: str | None = None) -> None:
        self.path = path
        self._handler = handler
        self._gid = grp.getgrnam(group).gr_gid if group else None
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, name="control-accept", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        if self.path.exists() or self.path.is_symlink():
            if _is_live(self.path):
                raise ConfigError(f"socket_path: another daemon is already listening on {self.path}")
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o117)  # the file is created 0660, never briefly world-accessible
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o660)
        if self._gid is not None:
            os.chown(self.path, -1, self._gid)
        sock.listen(64)
        sock.settimeout(0.5)
        self._sock = sock
        self._thread.start()
        log.info("control_socket_listening", path=str(self.path))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        with self._lock:
            for client in list(self._clients):
                _close(client)
        if self._sock is not None:
            _close(self._sock)
        self.path.unlink(missing_ok=True)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- serving ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            with self._lock:
                crowded = len(self._clients) >= MAX_CLIENTS
                if not crowded:
                    self._clients.add(client)
            if crowded:
                self._refuse(client, "too_many_clients", f"at most {MAX_CLIENTS} clients at once")
                continue
            threading.Thread(target=self._serve, args=(client,), name="control-client", daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            problem = self._peer_problem(client)
            if problem is not None:
                log.warning("control_peer_refused", reason=problem)
                _reply(client, {"id": None, "ok": False, "error": {"code": "permission_denied", "message": problem}})
                return
            client.settimeout(IDLE_TIMEOUT_SECS)
            buffer = b""
            while not self._stop.is_set():
                chunk = client.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        _reply(client, self._answer(line))
                if len(buffer) > MAX_LINE_BYTES:
                    _reply(client, _error(None, "line_too_long", f"a request line is limited to {MAX_LINE_BYTES} bytes"))
                    return
        except (TimeoutError, OSError):
            return  # idle, slow or vanished client: drop it quietly
        finally:
            with self._lock:
                self._clients.discard(client)
            _close(client)

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(None, "bad_json", f"the line is not JSON: {exc}")
        if not isinstance(request, dict):
            return _error(None, "bad_request", "expected a JSON object with 'id', 'cmd' and 'args'")
        request_id = request.get("id")
        cmd, args = request.get("cmd"), request.get("args", {})
        if not isinstance(cmd, str) or not cmd:
            return _error(request_id, "bad_request", "'cmd' must be a non-empty string")
        if not isinstance(args, dict):
            return _error(request_id, "bad_request", "'args' must be a JSON object")
        try:
            result = self._handler(cmd, args)
        except CommandError as exc:
            return _error(request_id, exc.code, str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad command never takes the daemon down
            log.exception("control_command_failed", cmd=cmd)
            return _error(request_id, "internal_error", f"{cmd} failed: {type(exc).__name__}: {exc}")
        return {"id": request_id, "ok": True, "result": result}

    def _peer_problem(self, client: socket.socket) -> str | None:
        creds = client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, gid = struct.unpack("3i", creds)
        if uid in (0, os.getuid()):
            return None
        if self._gid is not None:
            try:
                groups = os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)
            except KeyError:
                groups = [gid]
            if self._gid in groups:
                return None
        return f"uid {uid} may not use this socket (root, the daemon's user or its socket_group only)"

    def _refuse(self, client: socket.socket, code: str, message: str) -> None:
        try:
            client.settimeout(SEND_TIMEOUT_SECS)
            _reply(client, _error(None, code, message))
        except OSError:
            pass
        _close(client)


def _error(request_id: object, code: str, message: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


def _reply(client: socket.socket, reply: dict[str, Any]) -> None:
    client.sendall((json.dumps(reply, default=str) + "\n").encode())


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def _is_live(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()
