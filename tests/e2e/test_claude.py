"""The language model's review and ask end to end: the installed commands and the real daemon,
with a local stand-in of the Messages API reached by the real anthropic SDK through
ANTHROPIC_BASE_URL. The daemon is reached only through its socket, metrics port and files."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from support.daemon_process import DAEMON_SESSION_CONFIG, DAY, DaemonProcess, base_env, executable, make_daemon
from support.daemon_process import write_daemon_config
from support.messages_standin import MessagesStandIn, text, tool_use

KEY = "sk-ant-e2e-standin-key-42"


@pytest.fixture(scope="module")
def backtest_report(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("claude-bt")
    subprocess.run([executable("mismarterad"), "backtest", str(DAEMON_SESSION_CONFIG), "--from", DAY, "--to", DAY,
                    "--out", str(root / "out")], env=base_env(root / "state", data_dir), check=True,
                   capture_output=True, timeout=120)
    return root / "out"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([executable("mismarterad"), *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def _env(tmp_path: Path, data_dir: Path, standin: MessagesStandIn, key: str | None = KEY) -> dict[str, str]:
    env = base_env(tmp_path / "state", data_dir)
    env["ANTHROPIC_BASE_URL"] = standin.url
    if key is not None:
        env["ANTHROPIC_API_KEY"] = key
    return env


def _daemon_toml(tmp_path: Path, **claude: object) -> Path:
    path = tmp_path / "daemon.toml"
    write_daemon_config(path, DAEMON_SESSION_CONFIG, tmp_path / "ctl.sock", 0, claude=claude)
    return path


def test_ask_and_review_a_backtest_report_and_count_their_usage(tmp_path: Path, data_dir: Path,
                                                                backtest_report: Path) -> None:
    report = tmp_path / "report"
    subprocess.run(["cp", "-r", str(backtest_report), str(report)], check=True)
    script = [tool_use("trades", {"symbol": "SPY"}, 1100, 30), text("Six round trips in SPY [trades].", 1400, 90),
              tool_use("pnl", {}, 1000, 20), text("## What was traded and why\n\nSPY only [trades].", 1300, 400)]
    with MessagesStandIn(script) as standin:
        env = _env(tmp_path, data_dir, standin)
        asked = _run(env, "ask", "--report-dir", str(report), "--json", "how many trades were there?")
        assert asked.returncode == 0, asked.stderr
        answer = json.loads(asked.stdout)
        assert answer["answer"] == "Six round trips in SPY [trades]." and answer["tools"][0]["name"] == "trades"
        assert (answer["input_tokens"], answer["output_tokens"]) == (2500, 120)
        trades = json.loads(standin.requests[1]["body"]["messages"][-1]["content"][0]["content"])
        assert trades["total"] == len((report / "trades.csv").read_text().splitlines()) - 1 > 0
        reviewed = _run(env, "review", "--report-dir", str(report), "--session-config", str(DAEMON_SESSION_CONFIG))
        assert reviewed.returncode == 0, reviewed.stderr
    review = (report / "review.md").read_text()
    assert reviewed.stdout.strip() == str(report / "review.md")
    assert "SPY only [trades]." in review and "## Figures from the report" in review
    usage = _run(env, "claude", "usage")
    assert usage.returncode == 0, usage.stderr
    assert re.search(r"ask\s+2\s+2500\s+120\b", usage.stdout), usage.stdout
    assert re.search(r"review\s+2\s+2300\s+420\b", usage.stdout), usage.stdout
    for output in (asked, reviewed, usage):
        assert KEY not in output.stdout + output.stderr


def test_budgets_keys_and_questions_are_checked_before_anything_is_sent(tmp_path: Path, data_dir: Path,
                                                                        backtest_report: Path) -> None:
    with MessagesStandIn([]) as standin:
        env = _env(tmp_path, data_dir, standin)
        zero = _run(env, "ask", "--report-dir", str(backtest_report), "--config",
                    str(_daemon_toml(tmp_path, daily_budget_usd=0)), "anything?")
        assert zero.returncode == 75 and "daily budget is 0" in zero.stderr and "Traceback" not in zero.stderr
        no_key = _run(_env(tmp_path, data_dir, standin, key=None), "ask", "--report-dir", str(backtest_report), "?")
        assert no_key.returncode == 78 and "no Anthropic API key" in no_key.stderr
        unpriced = _run(env, "ask", "--report-dir", str(backtest_report), "--config",
                        str(_daemon_toml(tmp_path, model="claude-unknown")), "?")
        assert unpriced.returncode == 78 and "model 'claude-unknown' has no price" in unpriced.stderr
        control = _run(env, "ask", "--report-dir", str(backtest_report), "why\x07?")
        assert control.returncode == 2 and "QUESTION: the question may not contain control characters" in \
            control.stderr
        missing = _run(env, "ask", "--report-dir", str(tmp_path / "nowhere"), "?")
        assert missing.returncode == 74 and "no report folder there" in missing.stderr
        both = _run(env, "review", DAY, "--report-dir", str(backtest_report))
        assert both.returncode == 2
        assert standin.requests == [], "nothing was sent"


@pytest.mark.slow
def test_the_daemon_reviews_its_replayed_day_and_answers_asks(data_dir: Path, tmp_path: Path,
                                                              daemons: list[DaemonProcess]) -> None:
    script = [tool_use("pnl", {}, 2000, 40), tool_use("orders", {"status": "filled"}, 2600, 40, "toolu_2"),
              text("## What was traded and why\n\nSPY round trips [orders].", 3100, 500),
              text("SPY lost money on two of its trades [trades].", 2200, 60)]
    with MessagesStandIn(script) as standin:
        d = make_daemon(tmp_path / "d", data_dir, start=f"{DAY}T08:55:00-05:00", speed=1800,
                        claude={"review": True, "daily_budget_usd": 2.0})
        daemons.append(d)
        d.env.update(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=standin.url)
        d.start()
        d.wait_ready()
        d.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 90, "the session to stop")
        review = d.root / "state" / "reports" / DAY / "review.md"
        deadline = time.monotonic() + 30
        while not review.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert review.exists(), d.log_text()
        text_of = review.read_text()
        assert "SPY round trips [orders]." in text_of and "- orders by status: filled" in text_of
        assert "- pnl {}" in text_of and '- orders {"status": "filled"}' in text_of
        asked = d.ctl("--json", "ask", "why", "did", "SPY", "lose", "money?")
        assert asked.returncode == 0, asked.stderr
        reply = json.loads(asked.stdout)
        assert reply["report"] == DAY and reply["answer"].startswith("SPY lost money")
        assert "About the report 2011-01-04: why did SPY lose money?" in \
            standin.requests[3]["body"]["messages"][0]["content"]
    metrics = d.metrics()
    assert 'mismarterad_claude_tokens_total{direction="input",purpose="review"} 7700.0' in metrics
    assert 'mismarterad_claude_tokens_total{direction="output",purpose="ask"} 60.0' in metrics
    assert 'mismarterad_claude_reviews_total{result="written"} 1.0' in metrics
    assert re.search(r"mismarterad_claude_cost_usd_total 0\.0\d+", metrics)
    assert KEY not in d.log_text() and KEY not in metrics and KEY not in d.ctl("--json", "config").stdout
