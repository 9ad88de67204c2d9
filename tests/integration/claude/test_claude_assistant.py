"""The assistant against a local stand-in of the Messages API, driven by the real anthropic SDK
(ANTHROPIC_BASE_URL): the tool-use loop and its bounds, read-only tools, usage and cost
accounting, budgets, retries, timeouts, and a key that never shows."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import structlog

from mismarterad.config.claude_config import ClaudeConfig
from mismarterad.core.clock import SystemClock
from mismarterad.core.errors import AssistantError, BudgetExceededError, DataError
from mismarterad.db.engine import DbSessionFactory
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.core.claude_usage import UsageRecord
from mismarterad.repositories.claude_usage_repository import ClaudeUsageRepository
from mismarterad.repositories.parquet_bar_store import ParquetBarStore
from mismarterad.runs.day_assistant import REVIEW_FILE, DayAssistant
from mismarterad.runs.day_tools import DayTools
from mismarterad.runs.report_facts import ReportFacts
from support.messages_standin import MessagesStandIn, error, text, tool_use

KEY = "sk-ant-standin-0123456789abcdef"
NY = ZoneInfo("America/New_York")
FAST = RetryPolicy(max_attempts=4, initial_backoff_secs=0.01, max_backoff_secs=0.02, jitter_secs=0.0,
                   max_total_secs=10.0, max_real_secs=10.0)


@pytest.fixture
def usage(sqlite_sessions: DbSessionFactory) -> ClaudeUsageRepository:
    return ClaudeUsageRepository(sqlite_sessions)


def _assistant(standin: MessagesStandIn, usage: ClaudeUsageRepository, seen: list[UsageRecord] | None = None,
               retry: RetryPolicy = FAST, **config: object) -> DayAssistant:
    return DayAssistant(ClaudeConfig.model_validate(config), usage, SystemClock(),
                        {"ANTHROPIC_API_KEY": KEY}, seen.append if seen is not None else None, retry)


def _facts(report: Path, bar_store: ParquetBarStore) -> ReportFacts:
    return ReportFacts(report, bar_store, NY, {"session_name": "demo", "api_key": "***"})


def _standin(monkeypatch: pytest.MonkeyPatch, *script: object) -> MessagesStandIn:
    standin = MessagesStandIn(list(script))  # type: ignore[arg-type]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", standin.url)
    return standin


def test_the_tool_use_loop_hands_the_model_the_days_facts_and_counts_every_call(
        monkeypatch: pytest.MonkeyPatch, report: Path, bar_store: ParquetBarStore,
        usage: ClaudeUsageRepository) -> None:
    seen: list[UsageRecord] = []
    script = (tool_use("trades", {"symbol": "SPY"}, 900, 40),
              tool_use("bars", {"symbol": "SPY", "start": "2011-01-04T09:30", "end": "2011-01-04T09:33"}, 1200, 60,
                       "toolu_2"),
              text("SPY lost $20 [trades].", 1500, 120))
    with _standin(monkeypatch, *script) as standin:
        answer = _assistant(standin, usage, seen).ask(_facts(report, bar_store), "why did SPY lose money?")
    assert answer.text == "SPY lost $20 [trades]."
    assert [c.name for c in answer.tool_calls] == ["trades", "bars"] and not any(c.error for c in answer.tool_calls)
    assert (answer.calls, answer.input_tokens, answer.output_tokens) == (3, 3600, 220)
    assert answer.cost_usd == pytest.approx((3600 * 3 + 220 * 15) / 1e6)
    # the model got the report's own rows and the store's own bars
    first_result = standin.requests[1]["body"]["messages"][-1]["content"][0]
    trades = json.loads(first_result["content"])
    assert first_result["tool_use_id"] == "toolu_1" and trades["total"] == 1 and trades["rows"][0]["pnl"] == "-20"
    bars = json.loads(standin.requests[2]["body"]["messages"][-1]["content"][0]["content"])
    assert [b["timestamp"] for b in bars["rows"]] == ["2011-01-04T09:30:00-05:00", "2011-01-04T09:31:00-05:00",
                                                     "2011-01-04T09:32:00-05:00"]
    assert bars["rows"][0]["close"] == "127.1"
    assert all(KEY in (r["headers"].get("x-api-key"), r["headers"].get("authorization", "").removeprefix("Bearer "))
               for r in standin.requests), "the SDK sent our key (2.16 sends it as a bearer token)"
    assert {t["name"] for t in standin.requests[0]["body"]["tools"]} == {
        "trades", "orders", "positions", "pnl", "quality", "risk", "bars", "session_config"}
    # usage as stored equals the scripted figures, call by call
    assert [(u.purpose, u.input_tokens, u.output_tokens) for u in seen] == [
        ("ask", 900, 40), ("ask", 1200, 60), ("ask", 1500, 120)]
    totals = usage.totals(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    assert [(t.purpose, t.calls, t.input_tokens, t.output_tokens) for t in totals] == [("ask", 3, 3600, 220)]
    assert totals[0].cost_usd == pytest.approx(answer.cost_usd)


def test_an_invalid_tool_call_gets_an_error_result_and_the_loop_goes_on(
        monkeypatch: pytest.MonkeyPatch, report: Path, bar_store: ParquetBarStore,
        usage: ClaudeUsageRepository) -> None:
    script = (tool_use("bars", {"symbol": "spy; DROP TABLE", "start": "x", "end": "2011-01-04T10:00"}),
              tool_use("place_order", {"symbol": "SPY"}, call_id="toolu_2"),
              tool_use("trades", {"limit": 5, "extra": True}, call_id="toolu_3"),
              text("I could not read those."))
    with _standin(monkeypatch, *script) as standin:
        answer = _assistant(standin, usage).ask(_facts(report, bar_store), "?")
    assert answer.text == "I could not read those." and all(c.error for c in answer.tool_calls)
    results = [r["body"]["messages"][-1]["content"][0] for r in standin.requests[1:]]
    assert all(r["is_error"] for r in results)
    assert "symbol" in results[0]["content"] and "start" in results[0]["content"]
    assert "no tool 'place_order'" in results[1]["content"]
    assert "extra" in results[2]["content"]


def test_the_loop_is_bounded_in_turns_and_the_last_turn_refuses_tools(
        monkeypatch: pytest.MonkeyPatch, report: Path, bar_store: ParquetBarStore,
        usage: ClaudeUsageRepository) -> None:
    with _standin(monkeypatch, tool_use("pnl", {}), tool_use("pnl", {}, call_id="toolu_2")) as standin, pytest.raises(AssistantError, match="max_turns = 2"):
        _assistant(standin, usage, max_turns=2).ask(_facts(report, bar_store), "?")
    assert "tool_choice" not in standin.requests[0]["body"]
    assert standin.requests[1]["body"]["tool_choice"] == {"type": "none"}


def test_the_loop_is_bounded_in_tokens(monkeypatch: pytest.MonkeyPatch, report: Path, bar_store: ParquetBarStore,
                                       usage: ClaudeUsageRepository) -> None:
    with _standin(monkeypatch, tool_use("pnl", {}, 4000, 1500), text("never asked")) as standin, pytest.raises(AssistantError, match="max_conversation_tokens = 5000"):
        _assistant(standin, usage, max_conversation_tokens=5000).ask(_facts(report, bar_store), "?")
    assert len(standin.requests) == 1


@pytest.mark.parametrize("daily, spent", [(0.0, 0.0), (0.05, 0.04)])
def test_a_call_over_the_budget_is_refused_before_it_is_sent(
        monkeypatch: pytest.MonkeyPatch, report: Path, bar_store: ParquetBarStore, usage: ClaudeUsageRepository,
        daily: float, spent: float) -> None:
    if spent:
        usage.record(UsageRecord(datetime.now(UTC), "claude-sonnet-4-5", "review", 1, 1, spent))
    with _standin(monkeypatch, text("never sent")) as standin, pytest.raises(BudgetExceededError, match="daily budget"):
        _assistant(standin, usage, daily_budget_usd=daily).ask(_facts(report, bar_store), "?")
    assert standin.requests == []


def test_the_monthly_budget_counts_the_whole_month(monkeypatch: pytest.MonkeyPatch, report: Path,
                                                   bar_store: ParquetBarStore, usage: ClaudeUsageRepository) -> None:
    now = datetime.now(UTC)
    earlier = now.replace(day=1, hour=0, minute=0, second=1) if now.day > 1 else now
    usage.record(UsageRecord(earlier, "claude-sonnet-4-5", "ask", 1, 1, 4.99))
    with _standin(monkeypatch, text("never sent")) as standin, pytest.raises(BudgetExceededError, match="monthly budget"):
        _assistant(standin, usage, daily_budget_usd=10.0, monthly_budget_usd=5.0).ask(
                _facts(report, bar_store), "?")
    assert standin.requests == []


def test_429_529_and_500_are_retried_and_a_400_is_not(monkeypatch: pytest.MonkeyPatch, report: Path,
                                                      bar_store: ParquetBarStore, usage: ClaudeUsageRepository) -> None:
    script = (error(429, "rate_limit_error", {"retry-after": "0"}), error(529, "overloaded_error"),
              error(500, "api_error"), text("fine"))
    with _standin(monkeypatch, *script) as standin:
        assert _assistant(standin, usage).ask(_facts(report, bar_store), "?").text == "fine"
    assert len(standin.requests) == 4
    with _standin(monkeypatch, error(400, "invalid_request_error")) as standin, pytest.raises(AssistantError, match=r"HTTP 400 \(invalid_request_error\)"):
        _assistant(standin, usage).ask(_facts(report, bar_store), "?")
    assert len(standin.requests) == 1
    with _standin(monkeypatch, *(error(529, "overloaded_error") for _ in range(4))) as standin, pytest.raises(AssistantError, match=r"HTTP 529 \(overloaded_error\)"):
        _assistant(standin, usage).ask(_facts(report, bar_store), "?")
    assert len(standin.requests) == 4, "tried max_attempts times, then given up"


def test_a_reply_slower_than_the_timeout_fails_with_a_clear_error(
        monkeypatch: pytest.MonkeyPatch, report: Path, bar_store: ParquetBarStore,
        usage: ClaudeUsageRepository) -> None:
    two = RetryPolicy(max_attempts=2, initial_backoff_secs=0.01, max_backoff_secs=0.01, jitter_secs=0.0)
    with _standin(monkeypatch, text("late", delay_secs=1.5), text("late", delay_secs=1.5)) as standin, \
            pytest.raises(AssistantError, match=r"within 0.3 s \(timeout_secs\)"):
        _assistant(standin, usage, retry=two, timeout_secs=0.3).ask(_facts(report, bar_store), "?")
    assert len(standin.requests) == 1, "a timed-out call may have run (and be billed): it is not sent again"
    assert usage.spent_usd(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)) == 0.0


def test_the_key_never_appears_in_logs_errors_or_reprs(monkeypatch: pytest.MonkeyPatch, report: Path,
                                                       bar_store: ParquetBarStore, usage: ClaudeUsageRepository,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    script = (tool_use("orders", {"status": "refused"}), error(500, "api_error"), error(401, "authentication_error"))
    with _standin(monkeypatch, *script) as standin, structlog.testing.capture_logs() as logs:
        assistant = _assistant(standin, usage)
        with pytest.raises(AssistantError) as raised:
            assistant.ask(_facts(report, bar_store), "?")
    out = capsys.readouterr()
    assert "HTTP 401" in str(raised.value)
    for place in (str(raised.value), repr(raised.value), repr(assistant), json.dumps(logs, default=str),
                  out.out, out.err):
        assert KEY not in place
    assert logs, "the calls were logged"


def test_every_tool_reads_and_nothing_changes(report: Path, bar_store: ParquetBarStore, tmp_path: Path) -> None:
    def tree() -> str:
        digest = hashlib.sha256()
        for path in sorted(tmp_path.rglob("*")):
            digest.update(str(path.relative_to(tmp_path)).encode())
            if path.is_file():
                stat = path.stat()
                digest.update(path.read_bytes() + f"{stat.st_mtime_ns} {stat.st_mode}".encode())
        return digest.hexdigest()

    tools = DayTools(_facts(report, bar_store))
    calls = {"trades": {}, "orders": {"status": "filled"}, "positions": {}, "pnl": {}, "quality": {"symbol": "SPY"},
             "risk": {}, "bars": {"symbol": "SPY", "start": "2011-01-04T14:30:00+00:00", "end": "2011-01-04T10:00"},
             "session_config": {}}
    assert set(calls) == {s["name"] for s in tools.schemas()}, "every tool is called here"
    before = tree()
    answers = {name: tools.call(name, args) for name, args in calls.items()}
    assert tree() == before
    assert not any(error for _, error in answers.values()), answers
    assert json.loads(answers["positions"][0]) == {"open": {}, "positions": {"QQQ": 0, "SPY": 0}}
    assert json.loads(answers["pnl"][0])["realized_pnl_by_symbol"] == {"QQQ": 20.0, "SPY": -20.0}
    assert len(json.loads(answers["bars"][0])["rows"]) == 30
    assert json.loads(answers["risk"][0])["refusals"][0]["check"] == "max_position"
    assert json.loads(answers["quality"][0])["rows"][0]["gaps"] == "12:01-12:02"


def test_a_review_is_written_whole_with_the_reports_own_figures(
        monkeypatch: pytest.MonkeyPatch, report: Path, bar_store: ParquetBarStore,
        usage: ClaudeUsageRepository) -> None:
    script = (tool_use("pnl", {}), text("## What was traded and why\n\nTwo round trips [trades]."))
    with _standin(monkeypatch, *script) as standin:
        path = _assistant(standin, usage).review(_facts(report, bar_store))
    assert path == report / REVIEW_FILE
    review = path.read_text()
    assert review.startswith("# Session review: 2011-01-04\n")
    assert "Two round trips [trades]." in review
    assert "- realized P&L by symbol: QQQ 20.0, SPY -20.0" in review
    assert "- orders by status: filled 4, refused 1" in review
    assert "- days and symbols with gaps: 2011-01-04 SPY (12:01-12:02)" in review
    assert "- pnl {}" in review and "2 model call(s)" in review
    assert "Review the session report 2011-01-04" in standin.requests[0]["body"]["messages"][0]["content"]
    assert [p.name for p in report.iterdir() if p.name.startswith(".")] == [], "no staging file left"


def test_a_damaged_report_row_is_a_tool_error_and_stops_a_review_before_it_is_written(
        monkeypatch: pytest.MonkeyPatch, report: Path, bar_store: ParquetBarStore,
        usage: ClaudeUsageRepository) -> None:
    with (report / "trades.csv").open("a") as f:
        f.write("SPY,2011-01-04T12:00:00-05:00,1,2011-01-04T12:05:00-05:00,2,10,oops,sma_cross#0,extra\n")
    answer, error = DayTools(_facts(report, bar_store)).call("trades", {})
    assert error and "trades.csv line 4: expected 8 fields" in answer
    with _standin(monkeypatch, text("fine")) as standin, pytest.raises(DataError, match="line 4"):
        _assistant(standin, usage).review(_facts(report, bar_store))
    assert not (report / REVIEW_FILE).exists()


def test_odd_model_output_is_refused_as_input_and_the_loop_goes_on(
        monkeypatch: pytest.MonkeyPatch, report: Path, bar_store: ParquetBarStore,
        usage: ClaudeUsageRepository) -> None:
    with _standin(monkeypatch, tool_use("trades", ["SPY"]), text("done")) as standin:  # type: ignore[arg-type]
        answer = _assistant(standin, usage).ask(_facts(report, bar_store), "?")
    assert answer.text == "done" and answer.tool_calls[0].error
    repeated = standin.requests[1]["body"]["messages"][1]["content"][1]
    assert repeated["type"] == "tool_use" and repeated["input"] == {}, "the API is sent an object back"
    no_usage = text("free?")
    del no_usage.body["usage"]
    with _standin(monkeypatch, no_usage) as standin, pytest.raises(AssistantError, match="usage"):
        _assistant(standin, usage).ask(_facts(report, bar_store), "?")


def test_a_spent_budget_is_reported_before_a_missing_key(monkeypatch: pytest.MonkeyPatch, report: Path,
                                                         bar_store: ParquetBarStore,
                                                         usage: ClaudeUsageRepository) -> None:
    assistant = DayAssistant(ClaudeConfig(daily_budget_usd=0), usage, SystemClock(), {})
    with pytest.raises(BudgetExceededError, match="daily budget is 0"):
        assistant.ask(_facts(report, bar_store), "?")


def test_calls_on_two_threads_cannot_pass_a_budget_together(monkeypatch: pytest.MonkeyPatch, report: Path,
                                                             bar_store: ParquetBarStore,
                                                             usage: ClaudeUsageRepository) -> None:
    # each call may cost up to about $0.03 and costs $0.0525: the $0.06 budget has room for one
    script = [text("first", 10_000, 1500, delay_secs=0.3), text("second", 10_000, 1500, delay_secs=0.3)]
    outcomes: list[str] = []
    with _standin(monkeypatch, *script) as standin:
        def ask() -> None:
            try:
                outcomes.append(_assistant(standin, usage, daily_budget_usd=0.06).ask(_facts(report, bar_store),
                                                                                       "?").text)
            except BudgetExceededError:
                outcomes.append("refused")

        threads = [threading.Thread(target=ask) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert sorted(outcomes) == ["first", "refused"] and len(standin.requests) == 1
