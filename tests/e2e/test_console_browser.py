"""The web console in real headless Chromium (Debian's `chromium`, driven by Playwright), over a
real daemon replaying 2011-01-04: an operator signs in, sees the replayed session move, halts
with the button and its confirmation, and sees the halt in the page and in `mismarterctl
status`; a viewer sees no control buttons and the API refuses its control requests; Cancel in
the confirmation does nothing and Flatten flattens; once the session is stopped, its report.html
opens from the console in a tab of its own and draws its charts. No page may log a console
error. A screenshot is saved to test-artifacts/console.png."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.api_client import ApiClient, api_daemon
from support.daemon_process import DAY, REPO, DaemonProcess, free_port

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts"
OPERATOR, VIEWER = ("olga", "operator password"), ("vic", "viewer password 1")

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); CI fails here instead", allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def api_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def daemon(data_dir: Path, tmp_path_factory: pytest.TempPathFactory, api_port: int) -> Iterator[DaemonProcess]:
    users = {OPERATOR[0]: ("operator", OPERATOR[1]), VIEWER[0]: ("viewer", VIEWER[1])}
    with api_daemon(tmp_path_factory.mktemp("console"), data_dir, api_port, users, f"{DAY}T09:26:00-05:00", 60) as d:
        yield d


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    def watch(opened: Page) -> None:  # the console's page and every tab it opens
        opened.on("console", on_console)
        opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    watch(tab)
    context.on("page", watch)
    yield tab, problems
    context.close()


def signed_in(page: tuple[Page, list[str]], api_port: int, user: tuple[str, str]) -> tuple[Page, list[str], str]:
    """The console's tab signed in as `user`, its problems so far, and the API's base URL."""
    tab, problems = page
    base = f"http://127.0.0.1:{api_port}"
    sign_in(tab, base, user)
    return tab, problems, base


def sign_in(tab: Page, base: str, user: tuple[str, str]) -> None:
    tab.goto(base + "/")
    tab.fill("#username", user[0])
    tab.fill("#password", user[1])
    tab.click("#login button[type=submit]")
    expect(tab.locator("#console-view")).to_be_visible()
    expect(tab.locator("#live")).to_have_text("live", timeout=15_000)


def test_an_operator_follows_the_session_and_halts_it_with_the_button(
        daemon: DaemonProcess, api_port: int, page: tuple[Page, list[str]]) -> None:
    tab, problems, base = signed_in(page, api_port, OPERATOR)
    expect(tab.locator("#who")).to_have_text("olga (operator)")
    expect(tab.locator("#status dd[data-field=state]")).to_have_text("RUNNING", timeout=30_000)
    clock = tab.locator("#status dd[data-field=clock]")
    first = clock.inner_text()
    expect(clock).not_to_have_text(first, timeout=15_000)  # the replayed session moves on in the page
    expect(tab.locator("#positions td").first).not_to_have_text("none", timeout=90_000)  # a position is held
    expect(tab.locator("#pnl-figures")).to_contain_text("equity")
    assert tab.locator("#chart canvas").count() >= 1, "the P&L chart is drawn"

    tab.fill("#halt-reason", "console drill")
    tab.click("#halt")
    dialog = tab.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(tab.locator("#confirm-text")).to_contain_text("Halt trading")
    tab.click("#confirm-ok")
    expect(tab.locator("#banner")).to_contain_text("HALTED by olga (api, 127.0.0.1): console drill", timeout=15_000)
    expect(tab.locator("#status dd[data-field=halted]")).to_contain_text("yes, by olga")
    expect(tab.locator("#audit")).to_contain_text("halt")

    status = daemon.ctl("--json", "status")
    assert status.returncode == 0, status.stderr
    halted = json.loads(status.stdout)["halted"]
    assert halted["by"] == "olga (api, 127.0.0.1)" and halted["reason"] == "console drill" and not halted["flatten"]

    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)
    assert (ARTIFACTS / "console.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tab.click("#resume")
    tab.click("#confirm-ok")
    expect(tab.locator("#banner")).to_be_hidden(timeout=15_000)
    assert daemon.status()["halted"] is None
    assert problems == [], problems


def test_a_viewer_sees_no_control_buttons_and_the_api_refuses_it(
        daemon: DaemonProcess, api_port: int, page: tuple[Page, list[str]]) -> None:
    tab, problems, base = signed_in(page, api_port, VIEWER)
    expect(tab.locator("#who")).to_have_text("vic (viewer)")
    expect(tab.locator("#status dd[data-field=state]")).not_to_be_empty()
    for button in ("#halt", "#flatten", "#resume"):
        expect(tab.locator(button)).to_be_hidden()
    api = ApiClient(base)
    token = api.token(*VIEWER)
    for action in ("halt", "flatten", "resume"):
        reply = api.post(f"/api/v1/system/{action}", token, {"flatten": True} if action == "halt" else None)
        assert reply.status == 403 and reply.error["code"] == "forbidden", reply.body
    assert daemon.status()["halted"] is None
    assert problems == [], problems


def test_the_api_docs_page_renders_under_its_own_policy(api_port: int, page: tuple[Page, list[str]]) -> None:
    tab, problems = page
    tab.goto(f"http://127.0.0.1:{api_port}/api/docs")
    expect(tab.locator(".swagger-ui .info .title")).to_contain_text("mismarterad", timeout=15_000)
    expect(tab.locator(".opblock-summary-path").first).to_be_visible()
    assert problems == [], problems


def test_cancel_changes_nothing_and_flatten_closes_every_position(
        daemon: DaemonProcess, api_port: int, page: tuple[Page, list[str]]) -> None:
    tab, problems, base = signed_in(page, api_port, OPERATOR)
    expect(tab.locator("#positions td").first).not_to_have_text("none", timeout=90_000)
    api = ApiClient(base)
    token = api.token(*OPERATOR)
    before = len(api.get("/api/v1/audit?limit=1000", token).body)
    tab.click("#halt")
    expect(tab.locator("#confirm")).to_be_visible()
    tab.click("#confirm-cancel")
    expect(tab.locator("#confirm")).to_be_hidden()
    tab.click("#flatten")
    expect(tab.locator("#confirm-text")).to_contain_text("Close every position")
    tab.click("#confirm-ok")
    expect(tab.locator("#control-result")).to_have_text("flatten: done", timeout=15_000)
    audit = api.get("/api/v1/audit?limit=1000", token).body
    assert [(a["user"], a["action"], a["result"]) for a in audit[:len(audit) - before]] == [
        ("olga", "flatten", "ok")], "the cancelled halt sent nothing"
    assert daemon.status()["halted"] is None
    expect(tab.locator("#positions td").first).to_have_text("none", timeout=60_000)
    assert problems == [], problems


def test_report_html_opens_from_the_console_and_draws_its_charts(
        daemon: DaemonProcess, api_port: int, page: tuple[Page, list[str]]) -> None:
    """Stops the module's session (its report is what the console opens): keep it last."""
    tab, problems = page
    base = f"http://127.0.0.1:{api_port}"
    api = ApiClient(base)
    assert api.post("/api/v1/system/stop", api.token(*OPERATOR)).status == 200
    sign_in(tab, base, VIEWER)
    links = tab.locator("#reports a")
    expect(links.filter(has_text="report.html")).to_be_visible()
    with tab.expect_popup() as opened:
        links.filter(has_text="report.html").click()
    report = opened.value
    report.wait_for_url("**/files/report.html?expires=*")
    # Bokeh draws into canvases inside its views' shadow roots (Playwright's CSS pierces them)
    report.wait_for_function("() => window.Bokeh !== undefined && Bokeh.documents.length === 1")
    report.locator("#charts canvas").first.wait_for(state="visible", timeout=30_000)
    assert report.locator("#charts .bk-Figure").count() >= 2
    with tab.expect_popup() as opened:
        links.filter(has_text="summary.json").click()
    summary = opened.value
    summary.wait_for_url("**/files/summary.json?expires=*")
    assert f'"first_day": "{DAY}"' in summary.locator("body").inner_text()
    assert problems == [], problems
