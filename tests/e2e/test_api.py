"""The REST API over a real daemon replaying 2011-01-04: every route, each role against each
control route, the error shape (401, 403, 404, 409, 422, 429), token expiry and revocation,
login throttling, the audit trail, the event stream (resumed, ended by a revocation), no secret
in the log, and a SIGTERM with streams and connections open. One daemon serves the whole module
(trusting X-Forwarded-For from 127.0.0.1, so the test can log in from many addresses); the
module's last test stops it."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.api_client import ApiClient, api_daemon
from support.daemon_process import DAY, DaemonProcess, executable, free_port, make_daemon

PASSWORDS = {"ada": "admin password 1", "olga": "operator password", "vic": "viewer password 1",
             "tina": "throttled password", "rita": "revoked password"}
ROLES = {"ada": "admin", "olga": "operator", "vic": "viewer", "tina": "viewer", "rita": "operator"}
CONTROL = ("start", "stop", "halt", "resume", "flatten", "reload")


@pytest.fixture(scope="module")
def api_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def daemon(data_dir: Path, tmp_path_factory: pytest.TempPathFactory, api_port: int) -> Iterator[DaemonProcess]:
    users = {name: (ROLES[name], password) for name, password in PASSWORDS.items()}
    with api_daemon(tmp_path_factory.mktemp("api"), data_dir, api_port, users, f"{DAY}T09:28:00-05:00", 120,
                    login_failures_per_user=3, login_failures_per_address=6, trusted_proxies=["127.0.0.1"]) as d:
        yield d


@pytest.fixture(scope="module")
def api(daemon: DaemonProcess, api_port: int) -> ApiClient:
    return ApiClient(f"http://127.0.0.1:{api_port}")


@pytest.fixture(scope="module")
def tokens(api: ApiClient) -> dict[str, str]:
    return {name: api.token(name, PASSWORDS[name]) for name in ("ada", "olga", "vic")}


def _positions_held(api: ApiClient, token: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        rows = api.get("/api/v1/positions", token).body
        if rows:
            return rows  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("no position was opened")


def test_the_read_routes_answer_what_the_socket_answers(daemon: DaemonProcess, api: ApiClient,
                                                        tokens: dict[str, str]) -> None:
    viewer = tokens["vic"]
    _positions_held(api, viewer)
    status = api.get("/api/v1/status", viewer).body
    socket_status = daemon.status()
    assert set(status) == set(socket_status) | {"halted_since", "halted_by", "halted_reason", "halted_flatten"}
    assert status["state"] == "RUNNING" and status["session_date"] == DAY and status["halted"] is False
    assert status["next_start"].startswith("2011-01-05") and status["clock"].startswith(DAY)
    for route in ("positions", "orders", "trades", "quality", "threads"):
        for _ in range(20):  # the replay moves on between the two questions: ask until both agree
            ours, theirs = api.get(f"/api/v1/{route}", viewer).body, daemon.request(route)["result"]
            if route == "threads":
                ours, theirs = ([{k: v for k, v in t.items() if k != "last_loop_age_seconds"} for t in rows]
                                for rows in (ours, theirs))
            if ours == theirs:
                break
        assert ours == theirs, route
    pnl = api.get("/api/v1/pnl", viewer).body
    assert pnl["date"] == DAY and pnl["equity"] > 0 and pnl["series"], pnl
    assert pnl["strategies"][-1]["strategy"] == "total", pnl
    assert all(a["t"] < b["t"] for a, b in zip(pnl["series"], pnl["series"][1:]))


def test_market_data_rows_are_the_exports_rows(daemon: DaemonProcess, api: ApiClient, tokens: dict[str, str]) -> None:
    query = "symbol=spy&interval=5m&from=2011-01-03&to=2011-01-04"
    rows = api.get(f"/api/v1/market-data/bars?{query}", tokens["vic"]).body
    export = subprocess.run([executable("mismarterad"), "data", "export", "--symbol", "SPY", "--interval", "5m",
                             "--from", "2011-01-03", "--to", "2011-01-04"], capture_output=True, text=True,
                            env=daemon.env, timeout=60, check=True).stdout.splitlines()
    assert export[0] == "timestamp,open,high,low,close,volume" and len(rows) == len(export) - 1 == 156
    for row, line in zip(rows, export[1:]):
        fields = line.split(",")
        assert row["timestamp"] == fields[0] and row["volume"] == int(fields[5])
        assert [row[k] for k in ("open", "high", "low", "close")] == [float(v) for v in fields[1:5]]


@pytest.mark.parametrize("query, field", [
    ("symbol=XYZ&interval=5m&from=2011-01-03&to=2011-01-04", "symbol"),
    ("symbol=SPY&interval=7x&from=2011-01-03&to=2011-01-04", "interval"),
    ("symbol=SPY&interval=5m&from=2011-01-05&to=2011-01-04", "to"),
    ("symbol=SPY&interval=5m&from=2011-01-03&to=2013-01-04", "to"),
    ("symbol=SPY&interval=5m&from=2011-13-03&to=2011-01-04", "from"),
    ("symbol=SPY&interval=5m&from=2011-01-03", "to"),
    ("symbol=SP%20Y&interval=5m&from=2011-01-03&to=2011-01-04", "symbol"),
])
def test_a_bad_market_data_query_is_422_naming_the_field(api: ApiClient, tokens: dict[str, str], query: str,
                                                          field: str) -> None:
    reply = api.get(f"/api/v1/market-data/bars?{query}", tokens["vic"])
    assert reply.status == 422 and reply.error["field"] == field and reply.error["code"] == "invalid", reply.body
    assert field in reply.error["message"]


def test_every_route_needs_a_token_and_errors_have_one_shape(api: ApiClient) -> None:
    routes = [("GET", f"/api/v1/{r}") for r in ("status", "positions", "orders", "trades", "quality", "pnl",
                                                 "threads", "reports", "reports/2011-01-04", "audit", "users",
                                                 "events", "auth/me", "market-data/bars?symbol=SPY")]
    routes += [("POST", f"/api/v1/system/{action}") for action in CONTROL] + [("POST", "/api/v1/auth/revoke")]
    for method, path in routes:
        for token in (None, "not-a-token"):
            reply = api.request(method, path, token)
            assert reply.status == 401, (path, reply)
            assert reply.error["code"] == "not_authenticated" and reply.headers["www-authenticate"] == "Bearer"
    missing = api.get("/api/v1/nothing-here")
    assert missing.status == 404 and missing.error == {"status": 404, "code": "not_found", "message": "Not Found",
                                                       "field": None}
    assert api.request("DELETE", "/api/v1/status").status == 405


def test_each_role_against_each_control_route(daemon: DaemonProcess, api: ApiClient, tokens: dict[str, str]) -> None:
    viewer = tokens["vic"]
    for action in CONTROL:
        reply = api.post(f"/api/v1/system/{action}", viewer, {"flatten": False} if action == "halt" else None)
        assert reply.status == 403 and reply.error["code"] == "forbidden", (action, reply.body)
        assert "operator role" in reply.error["message"]
    assert daemon.status()["halted"] is None and daemon.status()["state"] == "RUNNING", "a viewer changed nothing"
    for who in ("olga", "ada"):  # operator and admin
        token = tokens[who]
        halted = api.post("/api/v1/system/halt", token, {"flatten": False, "reason": f"drill by {who}"})
        assert halted.status == 200 and halted.body["halted"]["by"] == f"{who} (api, 127.0.0.1)", halted.body
        assert daemon.status()["halted"]["reason"] == f"drill by {who}"
        assert api.post("/api/v1/system/resume", token).body == {"halted": None, "in_session": True}
        refused = api.post("/api/v1/system/start", token)
        assert refused.status == 409 and refused.error["code"] == "refused"
        assert refused.error["message"] == f"a session is already running ({DAY})"
        assert api.post("/api/v1/system/reload", token).body == {"reloaded": True}
        flattened = api.post("/api/v1/system/flatten", token)
        assert flattened.status == 200 and isinstance(flattened.body["orders"], list)
    bad = api.post("/api/v1/system/halt", tokens["olga"], {"flatten": "yes"})
    assert bad.status == 422 and bad.error["field"] == "flatten"
    bad = api.post("/api/v1/system/halt", tokens["olga"], {"reason": "x\u0007y"})
    assert bad.status == 422 and bad.error["field"] == "reason" and "control" in bad.error["message"]
    assert api.post("/api/v1/system/halt", tokens["olga"], b"{not json").status == 422
    assert daemon.status()["halted"] is None
    bare = api.post("/api/v1/system/halt", tokens["olga"])  # `curl -X POST .../halt`: no body at all
    assert bare.status == 200 and bare.body["halted"]["flatten"] is False, bare.body
    assert api.post("/api/v1/system/resume", tokens["olga"]).status == 200


def test_control_actions_are_audited_logged_and_streamed(daemon: DaemonProcess, api: ApiClient,
                                                         tokens: dict[str, str]) -> None:
    request = urllib.request.Request(api.base + "/api/v1/events", headers={"Authorization": f"Bearer {tokens['vic']}"})
    with urllib.request.urlopen(request, timeout=20) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        first = _next_event(stream)
        assert first[0] == "status" and first[1]["state"] == "RUNNING"
        assert api.post("/api/v1/system/halt", tokens["olga"], {"flatten": True, "reason": "audit drill"}).status == 200
        assert api.post("/api/v1/system/resume", tokens["vic"]).status == 403
        kinds: dict[str, list[dict[str, Any]]] = {}
        deadline = time.monotonic() + 20
        while not ("halt" in kinds and len(kinds.get("audit", [])) >= 2) and time.monotonic() < deadline:
            kind, data = _next_event(stream)
            kinds.setdefault(kind, []).append(data)
        assert kinds["halt"][0]["halted"] is True and kinds["halt"][0]["operator"]["reason"] == "audit drill"
        assert [(a["user"], a["action"], a["result"]) for a in kinds["audit"][:2]] == [
            ("olga", "halt", "ok"), ("vic", "resume", "forbidden: role viewer")]
    assert api.post("/api/v1/system/resume", tokens["olga"]).status == 200
    audit = api.get("/api/v1/audit?limit=3", tokens["vic"]).body
    assert [(a["user"], a["action"], a["detail"], a["result"], a["address"]) for a in audit] == [
        ("olga", "resume", "", "ok", "127.0.0.1"), ("vic", "resume", "", "forbidden: role viewer", "127.0.0.1"),
        ("olga", "halt", "flatten=true reason=audit drill", "ok", "127.0.0.1")]
    logged = [e for e in daemon.log_events() if e.get("event") == "api_control"]
    assert {"user": "olga", "action": "halt", "result": "ok", "level": "info"}.items() <= logged[-3].items()
    assert not any("Traceback" in line for line in daemon.log_text().splitlines())


def _next_event(stream: Any) -> tuple[str, dict[str, Any]]:
    return _next_frame(stream)[1:]


def _next_frame(stream: Any) -> tuple[str | None, str, dict[str, Any]]:
    event_id, kind, data = None, "message", ""
    while True:
        line = stream.readline().decode()
        assert line, "the event stream ended"
        line = line.rstrip("\n")
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data += line[6:]
        elif not line and data:
            return event_id, kind, json.loads(data)


def _events(api: ApiClient, token: str, last_event_id: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", **({"Last-Event-ID": last_event_id} if last_event_id else {})}
    return urllib.request.urlopen(urllib.request.Request(api.base + "/api/v1/events", headers=headers), timeout=20)


def test_the_event_stream_resumes_after_its_last_event_and_ends_when_its_token_is_revoked(
        api: ApiClient, tokens: dict[str, str]) -> None:
    token = api.token("olga", PASSWORDS["olga"])
    with _events(api, token) as stream:
        last = None
        while last is None:
            last = _next_frame(stream)[0]  # the status each second has an id
    assert api.post("/api/v1/system/halt", tokens["olga"], {"reason": "while away"}).status == 200
    assert api.post("/api/v1/system/resume", tokens["olga"]).status == 200
    with _events(api, token, last) as stream:
        missed: list[tuple[str, str]] = []
        while len(missed) < 2:
            _, kind, data = _next_frame(stream)
            if kind == "audit":
                missed.append((data["action"], data["detail"]))
        assert missed == [("halt", "flatten=false reason=while away"), ("resume", "")], "resumed after `last`"
        for stale in ("999999", "0badc0de-999999"):  # ids from before a restart: the stream goes on from now
            with _events(api, token, stale) as fresh:
                assert _next_frame(fresh)[:2] == (None, "status")  # the opening status, then the hub's events
                assert _next_frame(fresh)[0] is not None
        assert api.post("/api/v1/auth/revoke", token).status == 200
        kind = ""
        while kind != "signed_out":
            _, kind, data = _next_frame(stream)
        assert data == {"reason": "token revoked"}
        assert stream.readline() == b"", "the stream ends with signed_out"


def test_tokens_expire_and_can_be_revoked(daemon: DaemonProcess, api: ApiClient) -> None:
    short = api.login("rita", PASSWORDS["rita"], expires_in="1")
    assert short.status == 200 and short.body["token_type"] == "bearer" and short.body["expires_in"] == 1
    reply = api.get("/api/v1/auth/me", short.body["access_token"])
    deadline = time.monotonic() + 10
    while reply.status == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        reply = api.get("/api/v1/auth/me", short.body["access_token"])
    assert reply.status == 401 and reply.error["message"] == "token expired"
    token = api.token("rita", PASSWORDS["rita"])
    assert api.get("/api/v1/auth/me", token).body["role"] == "operator"
    assert api.post("/api/v1/auth/revoke", token).body == {"revoked": True}
    reply = api.get("/api/v1/status", token)
    assert reply.status == 401 and reply.error["message"] == "token revoked"
    first, second = api.token("rita", PASSWORDS["rita"]), api.token("rita", PASSWORDS["rita"])
    done = subprocess.run([executable("mismarterad"), "user", "revoke", "rita"], capture_output=True, text=True,
                          env=daemon.env, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.startswith("2 token(s)"), (done.stdout, done.stderr)
    assert api.get("/api/v1/status", first).status == api.get("/api/v1/status", second).status == 401


def test_failed_logins_are_throttled_per_user_and_per_address(api: ApiClient) -> None:
    for n in range(3):  # from three addresses: the user's own count
        assert api.login("tina", "a wrong guess", address=f"198.51.100.{n}").status == 401
    throttled = api.login("tina", PASSWORDS["tina"], address="198.51.100.9")
    assert throttled.status == 429 and throttled.error["code"] == "too_many_logins"
    assert 0 < int(throttled.headers["retry-after"]) <= 15 * 60
    for n in range(6):  # one address guessing six names
        assert api.login(f"guess{n}", "a wrong guess", address="203.0.113.7").status == 401
    assert api.login("vic", PASSWORDS["vic"], address="203.0.113.7").status == 429
    assert api.login("vic", PASSWORDS["vic"], address="203.0.113.8").status == 200
    wrong = api.login("vic", "a wrong guess", address="203.0.113.8")
    assert wrong.status == 401 and wrong.error["code"] == "bad_credentials"
    assert api.login("nobody", "a wrong guess", address="203.0.113.8").error == wrong.error, \
        "an unknown name and a wrong password look the same"


def test_admins_manage_users_and_nobody_else_does(daemon: DaemonProcess, api: ApiClient,
                                                  tokens: dict[str, str]) -> None:
    for who in ("olga", "vic"):
        assert api.get("/api/v1/users", tokens[who]).status == 403
        assert api.post("/api/v1/users", tokens[who], {"name": "eve", "role": "admin", "password": "x" * 12}).status \
            == 403
    admin = tokens["ada"]
    added = api.post("/api/v1/users", admin, {"name": "nina", "role": "operator", "password": "nina's password"})
    assert added.status == 201
    assert api.post("/api/v1/users", admin, {"name": "nina", "role": "viewer", "password": "x" * 12}).status == 409
    bad = api.post("/api/v1/users", admin, {"name": "Nina!", "role": "viewer", "password": "x" * 12})
    assert bad.status == 422 and bad.error["field"] == "name"
    bad = api.post("/api/v1/users", admin, {"name": "nora", "role": "boss", "password": "x" * 12})
    assert bad.status == 422 and bad.error["field"] == "role"
    nina = api.token("nina", "nina's password")
    assert api.post("/api/v1/users/nina/revoke", admin).body == {"revoked": 1}
    assert api.get("/api/v1/status", nina).status == 401
    listed = {u["name"]: u for u in api.get("/api/v1/users", admin).body}
    assert listed["nina"]["role"] == "operator" and listed["nina"]["live_tokens"] == 0
    assert api.request("DELETE", "/api/v1/users/nina", admin).body == {"removed": "nina"}
    assert api.request("DELETE", "/api/v1/users/nina", admin).status == 404
    listing = subprocess.run([executable("mismarterad"), "user", "list"], capture_output=True, text=True,
                             env=daemon.env, timeout=60, check=True).stdout
    assert "olga" in listing and "nina" not in listing
    audit = api.get("/api/v1/audit?limit=20", admin).body
    assert ("ada", "user remove", "ok") in [(a["user"], a["action"], a["result"]) for a in audit]


def test_the_console_and_the_docs_are_served_from_the_package(api: ApiClient) -> None:
    page = api.get("/")
    assert page.status == 200 and b"/static/console.js" in page.body
    assert "script-src 'self'" in page.headers["content-security-policy"]
    docs = api.get("/api/docs")
    assert docs.status == 200 and b"/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.body
    assert b"cdn" not in docs.body.lower() and b"https://" not in docs.body
    for asset in ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/vendor/uplot/uPlot.iife.min.js",
                  "/static/console.css", "/static/favicon.svg"):
        assert api.get(asset).status == 200, asset
    spec = api.get("/api/openapi.json").body
    assert {"/api/v1/auth/token", "/api/v1/status", "/api/v1/system/halt", "/api/v1/events",
            "/api/v1/market-data/bars", "/api/v1/reports/{date}"} <= set(spec["paths"])


def test_a_stopped_session_leaves_a_report_with_links_to_its_files(daemon: DaemonProcess, api: ApiClient,
                                                                    tokens: dict[str, str]) -> None:
    assert api.get(f"/api/v1/reports/{DAY}", tokens["vic"]).status == 404
    bad = api.get("/api/v1/reports/yesterday", tokens["vic"])
    assert bad.status == 422 and bad.error["field"] == "date"
    stopped = api.post("/api/v1/system/stop", tokens["olga"])
    assert stopped.status == 200 and stopped.body["session_active"] is False
    assert api.post("/api/v1/system/stop", tokens["olga"]).status == 409
    assert api.post("/api/v1/system/flatten", tokens["olga"]).error["message"] == "no session is running"
    report = api.get(f"/api/v1/reports/{DAY}", tokens["vic"]).body
    assert report["summary"]["first_day"] == DAY and "trades.csv" in report["files"]
    assert report["links"]["trades.csv"] == f"/api/v1/reports/{DAY}/files/trades.csv"
    trades = api.get(report["links"]["trades.csv"], tokens["vic"])
    assert trades.status == 200 and trades.body == (Path(report["path"]) / "trades.csv").read_bytes()
    assert trades.headers["content-security-policy"] == "sandbox"
    outside = api.get(f"/api/v1/reports/{DAY}/files/%2E%2E", tokens["vic"])  # reaches the route: name ".."
    assert outside.status == 404 and outside.error["field"] == "name", outside.body
    assert report["html"] == str(Path(report["path"]) / "report.html"), "the socket's answer, whole"
    assert [r["date"] for r in api.get("/api/v1/reports", tokens["vic"]).body] == [DAY]


def test_a_non_loopback_address_without_tls_is_refused_naming_the_key(tmp_path: Path, data_dir: Path) -> None:
    d = make_daemon(tmp_path, data_dir, api={"address": f"0.0.0.0:{free_port()}"})
    done = subprocess.run(d.command(), capture_output=True, text=True, env=d.env, timeout=60, check=False)
    d.notify.close()
    assert done.returncode == 78, done.stderr
    assert "api.address" in done.stderr and "allow_insecure_remote" in done.stderr and "Traceback" not in done.stderr


def test_no_password_or_token_reaches_the_daemons_log(daemon: DaemonProcess, tokens: dict[str, str]) -> None:
    text = daemon.log_text()
    assert "api_login" in text and "api_control" in text
    for secret in (*PASSWORDS.values(), *tokens.values()):
        assert secret not in text


def test_sigterm_stops_the_daemon_with_an_event_stream_and_a_keep_alive_connection_open(
        daemon: DaemonProcess, api: ApiClient, api_port: int, tokens: dict[str, str]) -> None:
    """Last in the module: it stops the module's daemon."""
    with _events(api, tokens["vic"]) as stream:
        assert _next_frame(stream)[1] == "status"
        kept = http.client.HTTPConnection("127.0.0.1", api_port, timeout=20)
        kept.request("GET", "/api/v1/status", headers={"Authorization": f"Bearer {tokens['vic']}"})
        assert kept.getresponse().read()
        daemon.signal(signal.SIGTERM)
        assert daemon.wait_exit(15) == 0
    events = [e.get("event") for e in daemon.log_events()]
    assert events.index("daemon_stopping") < events.index("daemon_stopped")
    assert not any("Traceback" in line for line in daemon.log_text().splitlines())
