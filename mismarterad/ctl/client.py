"""Client side of the control socket: one JSON object per line each way."""

from __future__ import annotations

import itertools
import json
import os
import socket
from pathlib import Path
from typing import Any

__all__ = ["ControlClient", "CtlError", "default_socket_path"]

_ids = itertools.count(1)
MAX_LINE_BYTES = 1 << 20


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
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout_secs)
        try:
            self._sock.connect(str(path))
        except FileNotFoundError:
            self._sock.close()
            raise CtlError("not_running", f"the daemon is not running (no socket at {path})") from None
        except PermissionError:
            self._sock.close()
            raise CtlError("permission_denied", f"no permission to open {path} (ask for the daemon's group)") from None
        except ConnectionRefusedError:
            self._sock.close()
            raise CtlError("not_running", f"the daemon is not running ({path} refuses connections)") from None
        self._reader = self._sock.makefile("rb")

    def close(self) -> None:
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, cmd: str, args: dict[str, Any] | None = None) -> Any:
        """Send one request and return its `result`; raise CtlError on an error reply."""
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
        try:
            reply = json.loads(raw)
        except json.JSONDecodeError:
            raise CtlError("bad_reply", "the daemon sent a line that is not JSON") from None
        if reply.get("ok"):
            return reply.get("result")
        error = reply.get("error") or {}
        raise CtlError(str(error.get("code", "error")), str(error.get("message", "unknown error")))
