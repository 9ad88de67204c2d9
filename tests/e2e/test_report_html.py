"""report.html of a real backtest, opened in a real headless browser: Debian's chromium, driven by
Playwright with the system browser (never a browser Playwright downloads).

Without /usr/bin/chromium the test is skipped on a developer's machine and fails in CI
(CI=true), which must prove the page renders. The screenshot is kept as an artifact in
$TEST_ARTIFACTS_DIR (default: test-artifacts/ in the repository).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.daemon_process import REPO, base_env, executable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CONFIG = REPO / "session_configs" / "spy_2011_backtest.json"


def artifacts_dir() -> Path:
    path = Path(os.environ.get("TEST_ARTIFACTS_DIR") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def report(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html")
    subprocess.run([executable("mismarterad"), "backtest", str(CONFIG), "--from", "2011-01-03", "--to", "2011-01-05",
                    "--out", str(root / "out")], env=base_env(root / "state", data_dir), check=True,
                   capture_output=True, timeout=120)
    return root / "out" / "report.html"


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}: CI must open report.html in a real browser")
        pytest.skip(why)
    return CHROMIUM


@pytest.fixture(scope="module")
def empty_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page of a day-run stopped before its first bar: no curve, no prices, no trades."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from mismarterad.core.run_result import RunResult
    from mismarterad.runs.reports import write_backtest_report

    result = RunResult(session_name="empty", mode="live", first_day=date(2011, 1, 4), last_day=date(2011, 1, 4),
                       initial_cash=1000.0, orders=(), fills=(), equity=(), quality=(), bars_processed=0,
                       sessions_run=(), sessions_skipped=())
    out = write_backtest_report(tmp_path_factory.mktemp("empty") / "r", result, ZoneInfo("America/New_York"), {})
    return out / "report.html"


def _render(page_path: Path, chromium: Path, plots: int, shot_name: str) -> list[str]:
    """Open the page, check its plots, save a screenshot; return the console errors and requests."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

            def only_the_file(route):  # type: ignore[no-untyped-def]
                if not route.request.url.startswith("file://"):
                    problems.append(f"request: {route.request.url}")
                    route.abort()
                else:
                    route.continue_()

            page.route("**/*", only_the_file)
            page.goto(page_path.as_uri())
            # Bokeh draws into canvases inside its views' shadow roots (Playwright's CSS pierces them)
            page.wait_for_function("() => window.Bokeh !== undefined && Bokeh.documents.length === 1")
            page.locator("#charts canvas").first.wait_for(state="visible", timeout=30_000)
            page.wait_for_timeout(500)  # let the last views lay out before measuring and the screenshot
            figures = page.locator("#charts .bk-Figure")
            assert figures.count() == plots
            for i in range(plots):
                box = figures.nth(i).bounding_box()
                assert box is not None and box["width"] > 600 and box["height"] > 100, box
            canvases = page.locator("#charts canvas")
            sized = [b for b in (canvases.nth(i).bounding_box() for i in range(canvases.count()))
                     if b is not None and b["width"] > 0 and b["height"] > 0]
            assert len(sized) >= plots
            page.wait_for_timeout(200)
            shot = artifacts_dir() / shot_name
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            problems += [] if "Per strategy and symbol" in page.content() else ["no performance table"]
            if plots == 3:
                table = page.locator("table").nth(1).inner_text()
                assert "sma_cross#0" in table and "buy & hold" in table
                assert page.title().startswith("SPY January 2011 backtest: 2011-01-03 to 2011-01-05")
        finally:
            browser.close()
    return problems


@pytest.mark.slow
def test_report_html_renders_its_charts_in_chromium(report: Path, chromium: Path) -> None:
    # equity, drawdown, SPY's price with its trades
    assert _render(report, chromium, plots=3, shot_name="report_html.png") == []


@pytest.mark.slow
def test_the_page_of_a_run_without_bars_renders_too(empty_report: Path, chromium: Path) -> None:
    assert _render(empty_report, chromium, plots=2, shot_name="report_html_empty.png") == []
