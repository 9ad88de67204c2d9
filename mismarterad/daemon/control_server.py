"""The control socket: a unix stream socket speaking one JSON object per line.

Request `{"id": ..., "cmd": "...", "args": {...}}`; reply `{"id": ..., "ok": true, "result": ...}`
or `{"id": ..., "ok": false, "error": {"code": ..., "message": ...}}`. The socket file is mode
0660 (group: `socket_group` if configured); each peer is checked with SO_PEERCRED and must be
root, the daemon's own uid, or a member of that group. A bad line gets an error reply; an
oversized line or a refused peer is disconnected. A client must send a complete line within
LINE_DEADLINE_SECS of connecting or of its last reply (a silent or byte-dribbling client is
dropped with a `timeout` error). At most MAX_CLIENTS are connected at once; when a new one
arrives at the limit, the longest-idle client (one not in the middle of a command) is dropped
with `too_many_clients` to make room, so the operator's newest connection is always served.
Replies are always standard JSON (no NaN/Infinity); a non-finite or non-scalar request id is a
bad request. Nothing a client does can stop the daemon or reach another client.
"""

from __future__ import annotations

import contextlib
import grp
import json
import math
import os
import pwd
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog

from mismarterad.core.errors import ConfigError
from mismarterad.core.json_values import finite_json

__all__ = ["LINE_DEADLINE_SECS", "MAX_CLIENTS", "MAX_LINE_BYTES", "PROTOCOL_VERSION", "CommandError",
           "ControlServer", "Handler", "Peer", "Requester", "encode_reply"]

log = structlog.get_logger(component="control_socket")

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 64 * 1024
MAX_CLIENTS = 32
LINE_DEADLINE_SECS = 5.0  # a complete request line within this long of connecting or of the last reply
SEND_TIMEOUT_SECS = 5.0
NOTICE_TIMEOUT_SECS = 1.0  # the farewell line to a dropped client


@dataclass(frozen=True, slots=True)
class Peer:
    """The client process at the other end, from SO_PEERCRED (the kernel's word, not the client's)."""

    pid: int
    uid: int
    gid: int

    @property
    def name(self) -> str:
        """"uid 1000 (alice)", or "uid 1000" when the uid has no user name."""
        try:
            return f"uid {self.uid} ({pwd.getpwuid(self.uid).pw_name})"
        except (KeyError, OverflowError):
            return f"uid {self.uid}"


class Requester(Protocol):
    """Who sent a command, as a halt records it: a socket `Peer`, or the REST API's signed-in user."""

    @property
    def name(self) -> str: ...

    @property
    def pid(self) -> int | None:
        """The process that asked, where the kernel names one (a socket peer), else None."""
        ...


Handler = Callable[[str, dict[str, Any], Requester | None], Any]  # (cmd, args, who asked; None when unknown)


class CommandError(Exception):
    """A request the daemon refuses; `code` is the machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(eq=False)
class _Client:
    sock: socket.socket
    last_active: float  # monotonic: when it connected or got its last reply
    busy: bool = False  # a command of it is being handled
    evicted: bool = False  # dropped to make room; its own thread says so and closes it


class ControlServer:
    """Accepts clients on a thread; each client is served by its own thread."""

    def __init__(self, path: Path, handler: Handler, group: str | None = None) -> None:
        self.path = path
        self._handler = handler
        self._gid = grp.getgrnam(group).gr_gid if group else None
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._clients: set[_Client] = set()
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
                _close(client.sock)
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
            entry = _Client(client, time.monotonic())
            victim: _Client | None = None
            with self._lock:
                if len(self._clients) >= MAX_CLIENTS:
                    idle = [c for c in self._clients if not c.busy]
                    if idle:
                        victim = min(idle, key=lambda c: c.last_active)
                        victim.evicted = True
                        self._clients.discard(victim)
                crowded = len(self._clients) >= MAX_CLIENTS  # every one is in the middle of a command
                if not crowded:
                    self._clients.add(entry)
            if victim is not None:
                with contextlib.suppress(OSError):  # wakes its thread, which says why and closes it
                    victim.sock.shutdown(socket.SHUT_RD)
            if crowded:
                self._refuse(client, "too_many_clients", f"at most {MAX_CLIENTS} clients at once, all busy; try again")
                continue
            threading.Thread(target=self._serve, args=(entry,), name="control-client", daemon=True).start()

    def _serve(self, entry: _Client) -> None:
        client = entry.sock
        try:
            peer = _peer(client)
            problem = self._peer_problem(peer)
            if problem is not None:
                log.warning("control_peer_refused", reason=problem)
                client.settimeout(SEND_TIMEOUT_SECS)
                _reply(client, {"id": None, "ok": False, "error": {"code": "permission_denied", "message": problem}})
                _drain(client)
                return
            buffer = b""
            deadline = entry.last_active + LINE_DEADLINE_SECS
            while not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _notice(client, "timeout", f"no complete request line within {LINE_DEADLINE_SECS:g} s")
                    return
                client.settimeout(remaining)
                try:
                    chunk = client.recv(65536)
                except TimeoutError:
                    continue
                if entry.evicted:
                    _notice(client, "too_many_clients",
                            f"dropped to make room for a newer client (at most {MAX_CLIENTS} at once, "
                            "the longest idle goes)")
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        entry.busy = True
                        try:
                            reply = self.respond(line, peer)
                            client.settimeout(SEND_TIMEOUT_SECS)
                            client.sendall(reply)
                        finally:
                            entry.busy = False
                        entry.last_active = time.monotonic()
                        deadline = entry.last_active + LINE_DEADLINE_SECS
                if len(buffer) > MAX_LINE_BYTES:
                    client.settimeout(SEND_TIMEOUT_SECS)
                    _reply(client, _error(None, "line_too_long", f"a request line is limited to {MAX_LINE_BYTES} bytes"))
                    return
        except OSError:
            return  # slow, stuck or vanished client: drop it quietly
        finally:
            with self._lock:
                self._clients.discard(entry)
            _close(client)

    def respond(self, line: bytes, peer: Peer | None = None) -> bytes:
        """The reply line (standard JSON, newline-terminated) to one request line; never raises."""
        return encode_reply(self._answer(line, peer))

    def _answer(self, line: bytes, peer: Peer | None) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(None, "bad_json", f"the line is not JSON: {exc}")
        except RecursionError:
            return _error(None, "bad_json", "the line is not JSON this daemon reads: nested too deeply")
        except ValueError as exc:  # an integer of thousands of digits
            return _error(None, "bad_json", f"the line is not JSON this daemon reads: {exc}")
        if not isinstance(request, dict):
            return _error(None, "bad_request", "expected a JSON object with 'id', 'cmd' and 'args'")
        request_id = request.get("id")
        if not _valid_id(request_id):
            return _error(None, "bad_request", "'id' must be a string, a finite number or null")
        cmd, args = request.get("cmd"), request.get("args", {})
        if not isinstance(cmd, str) or not cmd:
            return _error(request_id, "bad_request", "'cmd' must be a non-empty string")
        if not isinstance(args, dict):
            return _error(request_id, "bad_request", "'args' must be a JSON object")
        try:
            result = self._handler(cmd, args, peer)
        except CommandError as exc:
            return _error(request_id, exc.code, str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad command never takes the daemon down
            log.exception("control_command_failed", cmd=cmd)
            return _error(request_id, "internal_error", f"{cmd} failed: {type(exc).__name__}: {exc}")
        return {"id": request_id, "ok": True, "result": result}

    def _peer_problem(self, peer: Peer) -> str | None:
        uid, gid = peer.uid, peer.gid
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


def _peer(client: socket.socket) -> Peer:
    creds = client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", creds)
    return Peer(pid, uid, gid)


def _error(request_id: object, code: str, message: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


def _valid_id(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


def encode_reply(reply: dict[str, Any]) -> bytes:
    """One line of standard JSON: a non-finite float in a result becomes null, and a result that
    cannot be encoded at all becomes an `internal_error` reply."""
    try:
        return (json.dumps(reply, default=str, allow_nan=False) + "\n").encode()
    except ValueError:
        pass  # NaN or infinity somewhere in the result
    except (TypeError, RecursionError):
        return _encode_failure(reply)
    try:
        return (json.dumps(finite_json(reply), default=str, allow_nan=False) + "\n").encode()
    except (ValueError, TypeError, RecursionError):
        return _encode_failure(reply)


def _encode_failure(reply: dict[str, Any]) -> bytes:
    request_id = reply.get("id")
    failure = _error(request_id if _valid_id(request_id) else None, "internal_error",
                     "the reply could not be encoded as JSON")
    return (json.dumps(failure, allow_nan=False) + "\n").encode()




def _reply(client: socket.socket, reply: dict[str, Any]) -> None:
    client.sendall(encode_reply(reply))


def _notice(client: socket.socket, code: str, message: str) -> None:
    """A farewell error line to a client being dropped; it may not be listening."""
    with contextlib.suppress(OSError):
        client.settimeout(NOTICE_TIMEOUT_SECS)
        client.sendall(encode_reply(_error(None, code, message)))


def _drain(client: socket.socket) -> None:
    """Read (and drop) what the refused client sends for a moment before closing: closing with
    its request unread makes the kernel reset the connection, and the client would see
    `connection_lost` instead of the refusal it has already been sent."""
    with contextlib.suppress(OSError):
        client.shutdown(socket.SHUT_WR)
        client.settimeout(NOTICE_TIMEOUT_SECS)
        deadline = time.monotonic() + NOTICE_TIMEOUT_SECS
        while time.monotonic() < deadline and client.recv(4096):
            pass


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
