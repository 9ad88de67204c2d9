"""A local stand-in of Anthropic's Messages API (`POST /v1/messages`) for tests driven by the
real `anthropic` SDK through ANTHROPIC_BASE_URL.

It answers a script of replies in order: messages with text or tool-use blocks and `usage`
figures, error statuses with Anthropic's error bodies, or a reply held longer than the
client's timeout. Every request is kept (headers and JSON body) for the tests to inspect. A
request past the end of the script gets a 400 `invalid_request_error` (not retried), so a
test that makes more calls than it scripted fails instead of hanging.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MessagesStandIn", "Reply", "error", "text", "tool_use"]


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    delay_secs: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def _message(content: list[dict[str, Any]], stop_reason: str, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {"id": "msg_standin", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}


def text(answer: str, input_tokens: int = 1000, output_tokens: int = 200, delay_secs: float = 0.0) -> Reply:
    return Reply(200, _message([{"type": "text", "text": answer}], "end_turn", input_tokens, output_tokens),
                 delay_secs)


def tool_use(name: str, arguments: dict[str, Any], input_tokens: int = 800, output_tokens: int = 50,
             call_id: str = "toolu_1") -> Reply:
    blocks = [{"type": "text", "text": "Let me look."},
              {"type": "tool_use", "id": call_id, "name": name, "input": arguments}]
    return Reply(200, _message(blocks, "tool_use", input_tokens, output_tokens))


def error(status: int, kind: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"type": "error", "error": {"type": kind, "message": f"stand-in {kind}"}},
                 headers=headers or {})


class MessagesStandIn:
    def __init__(self, script: list[Reply]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with standin._lock:
                    standin.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                    reply = standin.script.pop(0) if standin.script else error(400, "invalid_request_error")
                if self.path.split("?")[0] != "/v1/messages":
                    reply = error(404, "not_found_error")
                time.sleep(reply.delay_secs)
                data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                    pass

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="messages-standin", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> MessagesStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
