"""A server that refuses every request, quoting back what it got (the worst a venue could do),
and the texts a call leaves behind: the secret-leak tests of each adapter check them."""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (path, headers, body) -> (status, JSON payload quoting what it got)
Refusal = Callable[[str, Any, str], tuple[int, dict[str, Any]]]


@contextmanager
def echoing_server(refusal: Refusal) -> Iterator[str]:
    """A local server answering every GET, POST and DELETE with `refusal`; yields its base URL."""

    class _Echo(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode(errors="replace") if length else ""
            status, payload = refusal(self.path, self.headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def exception_texts(exc: BaseException) -> list[str]:
    """Every way an error is shown: its text, its repr and its traceback."""
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def outcome_texts(call: Callable[[], Any]) -> list[str]:
    """The texts of what `call` gives: its result's repr and str, or its error's texts."""
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 - whatever it raises is inspected
        return exception_texts(exc)
    return [repr(result), str(result)]
