"""Fuzzing the control socket's line handler in-process: any line gets exactly one reply line of
standard JSON with `ok` and either `result` or `error`; nothing raises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.daemon.control_server import CommandError, ControlServer

pytestmark = pytest.mark.slow


def _handler(cmd: str, args: dict[str, Any], _peer: object = None) -> Any:
    """Stands in for ControlApi: echoes, refuses, fails, and returns awkward values."""
    match cmd:
        case "echo":
            return args
        case "nan":
            return {"x": float("nan"), "y": [float("-inf")], "when": Path("/x")}
        case "boom":
            raise RuntimeError(f"failed on {args!r}")
        case "deep":
            value: Any = 1
            for _ in range(5000):
                value = [value]
            return value
        case "refuse":
            raise CommandError("bad_request", str(args)[:100])
        case _:
            raise CommandError("unknown_command", f"unknown command {cmd!r}")


SERVER = ControlServer(Path("/nonexistent/never-started.sock"), _handler)


def _check(line: bytes) -> None:
    raw = SERVER.respond(line)
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1

    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON {name} in {raw!r}")

    reply = json.loads(raw, parse_constant=refuse)
    assert isinstance(reply, dict) and isinstance(reply["ok"], bool) and "id" in reply
    if reply["ok"]:
        assert "result" in reply
    else:
        assert isinstance(reply["error"]["code"], str) and isinstance(reply["error"]["message"], str)


_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                    st.sampled_from([10**400, "\ud800", "1e999999"]))
_json = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                     max_leaves=15)
_cmds = st.one_of(st.sampled_from(["echo", "nan", "boom", "deep", "refuse", "status", ""]), _json)


def _encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True, default=str).encode("utf-8", "surrogatepass")


@st.composite
def _request_lines(draw: st.DrawFn) -> bytes:
    request: dict[str, Any] = {}
    if draw(st.booleans()):
        request["id"] = draw(st.one_of(_scalar, _json))
    if draw(st.integers(0, 9)):
        request["cmd"] = draw(_cmds)
    if draw(st.booleans()):
        request["args"] = draw(st.one_of(_json, st.dictionaries(st.text(max_size=6), _json, max_size=3)))
    line = _encode(request)
    for _ in range(draw(st.integers(0, 2))):  # textual mutations: literals JSON does not have, raw bytes
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.sampled_from([b"1e999999", b"NaN", b"-Infinity", b"\xff", b"[" * 3000,
                                                 b'"', b"}", b"9" * 5000])) + line[at:]
    return line


@settings(max_examples=2000, deadline=None)
@given(_request_lines())
def test_request_like_lines_always_get_one_standard_json_reply(line: bytes) -> None:
    _check(line)


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")))
def test_random_bytes_always_get_one_standard_json_reply(line: bytes) -> None:
    _check(line)
