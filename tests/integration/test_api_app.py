"""The API application in-process over a stand-in daemon (tests/support/api_rig.py): bodies are
capped and read only once the caller is known, the kill switch needs no body, refusals are
audited whatever was sent, an audit write that fails does not undo a done action, Host and
X-Forwarded-For are believed only where they should be, logins from other sites are refused,
refused logins are logged once and without the text typed as a name, report files open through
short-lived signed links, market-data reads are capped, the docs page runs no inline script."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from structlog.testing import capture_logs
from support.api_rig import PASSWORDS, ApiRig, FailingAuditLog

from mismarterad.api.app import DOCS_CSP, MAX_BODY_BYTES
from mismarterad.api.routes.session import PAGE_CSP

DAY = "2011-01-04"
HALT = "/api/v1/system/halt"


@pytest.fixture
def rig(tmp_path: Path) -> ApiRig:
    return ApiRig(tmp_path)


@pytest.fixture
def client(rig: ApiRig) -> Iterator[TestClient]:
    with rig.client() as c:
        yield c


def bearer(rig: ApiRig, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {rig.token(name)}"}


def error(reply: Any) -> dict[str, Any]:
    return reply.json()["error"]  # type: ignore[no-any-return]


def test_a_body_over_the_limit_is_refused_by_its_length_or_as_it_streams(rig: ApiRig, client: TestClient) -> None:
    huge = b"[" * (MAX_BODY_BYTES + 1)
    reply = client.post(HALT, content=huge, headers={"Content-Type": "application/json"})
    assert reply.status_code == 413 and error(reply)["code"] == "too_large", reply.text
    chunks = iter([b"{" + b" " * 40_000, b" " * 40_000, b"}"])  # no Content-Length: counted as it arrives
    reply = client.post(HALT, content=chunks, headers={**bearer(rig, "olga"), "Content-Type": "application/json"})
    assert reply.status_code == 413 and error(reply)["code"] == "too_large", reply.text
    form = iter([b"username=olga&password=" + b"x" * 40_000, b"x" * 40_000])
    reply = client.post("/api/v1/auth/token", content=form,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 413, reply.text
    assert rig.daemon.calls == []


def test_without_a_token_no_body_is_parsed(client: TestClient) -> None:
    for path in (HALT, "/api/v1/users"):
        reply = client.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
        assert reply.status_code == 401 and error(reply)["code"] == "not_authenticated", (path, reply.text)


def test_the_kill_switch_needs_no_body(rig: ApiRig, client: TestClient) -> None:
    reply = client.post(HALT, headers=bearer(rig, "olga"))
    assert reply.status_code == 200 and reply.json()["halted"]["flatten"] is False, reply.text
    assert rig.daemon.calls == [("halt", "olga (api, 127.0.0.1)", "", False)]
    assert rig.audit.recent(1)[0].detail == "flatten=false"


def test_the_role_is_checked_before_the_body_and_every_refusal_is_audited(rig: ApiRig, client: TestClient) -> None:
    viewer, operator = bearer(rig, "vic"), bearer(rig, "olga")
    for body in (b'{"flatten": "yes"}', b"{not json"):
        reply = client.post(HALT, content=body, headers={**viewer, "Content-Type": "application/json"})
        assert reply.status_code == 403 and error(reply)["code"] == "forbidden", reply.text
    reply = client.post(HALT, content=b"{not json", headers={**operator, "Content-Type": "application/json"})
    assert reply.status_code == 422 and error(reply)["field"] == "body", reply.text
    assert error(reply)["message"].startswith("body: not valid JSON")
    reply = client.post(HALT, json={"flatten": "yes"}, headers=operator)
    assert reply.status_code == 422 and error(reply)["field"] == "flatten"
    audited = [(e.user, e.action, e.result.split(":")[0]) for e in reversed(rig.audit.recent(10))]
    assert audited == [("vic", "halt", "forbidden"), ("vic", "halt", "forbidden"), ("olga", "halt", "invalid"),
                       ("olga", "halt", "invalid")]
    assert rig.daemon.calls == []


def test_a_failed_audit_write_does_not_undo_the_answer_of_a_done_action(tmp_path: Path) -> None:
    audit = FailingAuditLog()
    rig = ApiRig(tmp_path, audit=audit)
    with rig.client() as client, capture_logs() as logs:
        reply = client.post(HALT, json={"reason": "news"}, headers=bearer(rig, "olga"))
    assert reply.status_code == 200 and reply.json()["halted"]["reason"] == "news", reply.text
    assert rig.daemon.halted is not None
    failed = [e for e in logs if e["event"] == "api_audit_failed"]
    assert failed and failed[0]["action"] == "halt" and failed[0]["log_level"] == "error"
    assert [e for e in logs if e["event"] == "api_control"][0]["result"] == "ok", "the journal still has it"


def test_on_loopback_a_host_name_is_refused_unless_a_trusted_proxy_sent_it(tmp_path: Path) -> None:
    rig = ApiRig(tmp_path, trusted_proxies=("10.0.0.0/24",))
    with rig.client() as client:
        reply = client.get("/api/openapi.json", headers={"Host": "rebound.example:8321"})
        assert reply.status_code == 421 and "api.trusted_proxies" in error(reply)["message"]
        for host in ("localhost:8321", "127.0.0.1:8321", "[::1]:8321"):
            assert client.get("/api/openapi.json", headers={"Host": host}).status_code == 200, host
    with rig.client(peer="10.0.0.7") as proxied:
        assert proxied.get("/api/openapi.json", headers={"Host": "trading.example.com"}).status_code == 200


@pytest.mark.parametrize("trusted, address", [((), "127.0.0.1"), (("127.0.0.1",), "203.0.113.9")])
def test_x_forwarded_for_is_believed_from_trusted_proxies_only(tmp_path: Path, trusted: tuple[str, ...],
                                                               address: str) -> None:
    rig = ApiRig(tmp_path, trusted_proxies=trusted)
    with rig.client() as client:
        reply = client.post(HALT, headers={**bearer(rig, "olga"), "X-Forwarded-For": "203.0.113.9"})
    assert reply.status_code == 200 and reply.json()["halted"]["by"] == f"olga (api, {address})"
    assert rig.audit.recent(1)[0].address == address


def test_a_login_from_another_sites_page_is_refused(client: TestClient) -> None:
    form = {"username": "olga", "password": PASSWORDS["olga"][1]}
    for site in ("cross-site", "same-site"):
        reply = client.post("/api/v1/auth/token", data=form, headers={"Sec-Fetch-Site": site})
        assert reply.status_code == 403 and error(reply)["code"] == "cross_site"
    assert client.post("/api/v1/auth/token", data=form, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert client.post("/api/v1/auth/token", data=form).status_code == 200  # a script sends no such header


def test_refused_logins_are_logged_once_when_throttled_and_never_with_a_password_for_a_name(
        client: TestClient) -> None:
    with capture_logs() as logs:
        for _ in range(8):
            assert client.post("/api/v1/auth/token", data={"username": "vic", "password": "a wrong guess"}
                               ).status_code in (401, 429)
        assert client.post("/api/v1/auth/token", data={"username": "my secret pass", "password": "x"}
                           ).status_code == 401
    refused = [(e["reason"], e["user"]) for e in logs if e["event"] == "api_login_refused"]
    assert refused == [("bad_credentials", "vic")] * 5 + [("throttled", "vic"), ("bad_credentials", None)]
    assert "my secret pass" not in repr(logs)


def _report_folder(rig: ApiRig) -> Path:
    folder = rig.daemon.reports_dir / DAY
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<!doctype html><title>report</title><script>document.title='ran'</script>")
    (folder / "summary.json").write_text('{"first_day": "2011-01-04", "trades": 2}')
    (folder / "trades.csv").write_text("symbol\nSPY\n")
    return folder


def test_report_files_open_through_a_short_lived_signed_link(rig: ApiRig, client: TestClient) -> None:
    folder = _report_folder(rig)
    viewer = bearer(rig, "vic")
    report = client.get(f"/api/v1/reports/{DAY}", headers=viewer).json()
    socket = rig.context.commands("report", {"words": [DAY]}, None)
    assert {k: report[k] for k in socket} == socket and report["html"] == str(folder / "report.html")
    link = client.post(f"/api/v1/reports/{DAY}/files/report.html/link", headers=viewer)
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    page = client.get(url)  # no token: the link is the permission
    assert page.status_code == 200 and page.content == (folder / "report.html").read_bytes()
    assert page.headers["content-security-policy"] == PAGE_CSP and "sandbox allow-scripts" in PAGE_CSP
    summary = client.get(client.post(f"/api/v1/reports/{DAY}/files/summary.json/link", headers=viewer).json()["url"])
    assert summary.json()["trades"] == 2 and summary.headers["content-security-policy"] == "sandbox"
    forged = url.replace("report.html", "trades.csv")
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    for bad in (forged, tampered, url.split("&signature=")[0] + "&signature=", f"/api/v1/reports/{DAY}/files/report.html"):
        reply = client.get(bad)
        assert reply.status_code == 401 and error(reply)["code"] == "not_authenticated", bad
    outside = client.post(f"/api/v1/reports/{DAY}/files/%2E%2E/link", headers=viewer)
    assert outside.status_code == 404 and error(outside)["field"] == "name", "only a file the folder lists"
    outside = client.get(f"/api/v1/reports/{DAY}/files/%2E%2E", headers=viewer)
    assert outside.status_code == 404 and error(outside)["field"] == "name"


@pytest.mark.parametrize("interval, days, status", [("1m", 52, 200), ("1m", 53, 422), ("5m", 260, 200),
                                                    ("5m", 261, 422), ("1d", 366, 200)])
def test_a_bars_request_is_capped_at_its_rows_before_anything_is_read(
        rig: ApiRig, client: TestClient, interval: str, days: int, status: int) -> None:
    end = (date(2011, 1, 1) + timedelta(days=days - 1)).isoformat()
    reply = client.get(f"/api/v1/market-data/bars?symbol=SPY&interval={interval}&from=2011-01-01&to={end}",
                       headers=bearer(rig, "vic"))
    assert reply.status_code == status, reply.text
    if status == 422:
        assert error(reply)["field"] == "to" and "data export" in error(reply)["message"]
        assert rig.daemon.calls == []
    else:
        assert len(reply.json()) == 3


def test_the_docs_page_runs_no_inline_script_and_https_answers_carry_hsts(rig: ApiRig, client: TestClient) -> None:
    docs = client.get("/api/docs")
    assert docs.headers["content-security-policy"] == DOCS_CSP
    script = DOCS_CSP.split("script-src")[1].split(";")[0]
    assert "unsafe" not in script and b"<script>" not in docs.content and b"/static/docs.js" in docs.content
    assert client.get("/static/docs.js").status_code == 200
    assert "strict-transport-security" not in docs.headers
    with rig.client(https=True) as secure:
        assert secure.get("/api/docs").headers["strict-transport-security"] == "max-age=31536000"
