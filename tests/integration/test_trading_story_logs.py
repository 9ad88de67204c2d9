"""The trading story in the log: every order, fill, refusal, rejection, cancel, flatten, halt and
operator command is one line naming the strategy, the symbol and the client order id; at INFO
in a daemon's day-run, at DEBUG in a backtest (docs/decisions.md)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from structlog.testing import capture_logs

from mismarterad.cli.control_api import ControlApi
from mismarterad.cli.control_commands import COMMANDS, OPERATOR_COMMANDS
from mismarterad.config.session_config import load_session_config
from mismarterad.config.settings import Settings
from mismarterad.core.clock import SimClock
from mismarterad.core.errors import ConfigError
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import OrderStatus, Side
from mismarterad.core.risk import RiskLimits
from mismarterad.daemon.control_server import CommandError, Peer
from mismarterad.daemon.kill_switch import KillSwitch
from mismarterad.integrations.paper import PaperBroker
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.managers.order_journaling import OrderJournaling
from mismarterad.managers.risk_guard import RiskGuard
from mismarterad.managers.trade_log import REFUSALS_TOLD_PER_MINUTE, TradeLog
from mismarterad.repositories.halt_store import HaltStore
from mismarterad.repositories.memory_order_journal import MemoryOrderJournal
from mismarterad.runs.app import App
from mismarterad.runs.backtest_runner import run_backtest
from mismarterad.services.order_ids import SessionOrderIds

T0 = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)  # 09:30 New York
DAY = date(2011, 1, 4)
CLOSE = datetime(2011, 1, 4, 21, 0, tzinfo=UTC)
STORY = ("order_submitted", "order_filled", "order_refused", "order_rejected", "order_cancel_requested")
REPO = Path(__file__).resolve().parents[2]


def bar(minute: int, price: float = 100.0) -> Bar:
    return Bar("SPY", "1m", T0 + timedelta(minutes=minute), price, price + 0.5, price - 0.5, price, 1000)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def day_run_execution() -> ExecutionManager:
    """An ExecutionManager as a daemon's day-run builds it: its story at INFO."""
    risk = RiskGuard(RiskLimits(max_shares_per_symbol=150), flatten_minutes_before_close=10)
    execution = ExecutionManager(PaperBroker(initial_cash=100_000.0), risk, trade_log=TradeLog(logging.INFO))
    execution.begin_session(DAY, CLOSE, ["SPY"])
    return execution


def story(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == event]


def test_a_day_runs_orders_fills_refusals_cancels_and_flattens_are_info_lines() -> None:
    execution = day_run_execution()
    with capture_logs() as logs:
        execution.on_bar(bar(0))
        bought = execution.submit("sma#0", "SPY", Side.BUY, 100, None, None, at(1))
        execution.on_bar(bar(1))  # filled at this bar's open
        stop = execution.submit("sma#0", "SPY", Side.SELL, 100, None, 90.0, at(2))
        execution.cancel(stop.client_order_id)
        too_many = execution.submit("sma#0", "SPY", Side.BUY, 100, None, None, at(3))  # 200 > 150 shares
        malformed = execution.submit("sma#0", "SPY", Side.BUY, 0, None, None, at(3))
        execution.begin_step(at(380))  # close - 10 minutes: the pre-close flatten
        execution.on_bar(bar(380))
    assert too_many.status is OrderStatus.REFUSED and malformed.status is OrderStatus.REJECTED
    assert [(e["event"], e["client_order_id"]) for e in logs if e["event"] in STORY] == [
        ("order_submitted", bought.client_order_id),
        ("order_filled", bought.client_order_id),
        ("order_submitted", stop.client_order_id),
        ("order_cancel_requested", stop.client_order_id),
        ("order_refused", too_many.client_order_id),
        ("order_rejected", malformed.client_order_id),
        ("order_submitted", execution.orders()[-1].client_order_id),  # the flatten's sell
        ("order_filled", execution.orders()[-1].client_order_id),
    ]
    for event in (e for e in logs if e["event"] in STORY):
        assert event["log_level"] == "info", event
        assert (event["strategy"], event["symbol"]) == ("sma#0", "SPY"), event
    refused = story(logs, "order_refused")[0]
    assert refused["check"] == "max_shares_per_symbol" and "150" in refused["detail"]
    assert story(logs, "order_filled")[0]["price"] == 100.0 and story(logs, "order_filled")[0]["quantity"] == 100
    [flatten] = story(logs, "pre_close_flatten")
    assert flatten["log_level"] == "info" and flatten["positions"] == {"SPY": 100}
    assert story(logs, "order_submitted")[-1]["closing"] is True
    assert story(logs, "order_rejected")[0]["category"] is not None


def test_every_refusal_is_told_not_only_the_first() -> None:
    execution = day_run_execution()
    execution.halt(True)
    with capture_logs() as logs:
        for minute in range(5):
            execution.submit("sma#0", "SPY", Side.BUY, 1, None, None, at(minute))
    refusals = story(logs, "order_refused")
    assert len(refusals) == 5 and {e["check"] for e in refusals} == {"halted"}
    assert {e["log_level"] for e in refusals} == {"info"}


def test_a_refusal_flood_is_told_a_few_lines_a_minute_and_kept_whole() -> None:
    execution = day_run_execution()
    execution.halt(True)
    with capture_logs() as logs:
        for _ in range(1000):  # a strategy resubmitting in a loop while halted
            execution.submit("sma#0", "SPY", Side.BUY, 1, None, None, at(1))
        execution.submit("other#0", "SPY", Side.BUY, 1, None, None, at(1))
        execution.begin_step(at(2))  # the next minute: the count of the untold ones
        for _ in range(REFUSALS_TOLD_PER_MINUTE + 2):
            execution.submit("sma#0", "SPY", Side.BUY, 1, None, None, at(2))
        execution.close_session(at(3))  # the session ends: the last minute's count too
    told = [e["strategy"] for e in story(logs, "order_refused")]
    assert told == ["sma#0"] * REFUSALS_TOLD_PER_MINUTE + ["other#0"] + ["sma#0"] * REFUSALS_TOLD_PER_MINUTE
    suppressed, last = story(logs, "order_refusals_suppressed")
    assert last["suppressed"] == 2 and last["minute"] == at(2).isoformat()
    assert (suppressed["strategy"], suppressed["check"], suppressed["suppressed"], suppressed["log_level"]) == (
        "sma#0", "halted", 1000 - REFUSALS_TOLD_PER_MINUTE, "info")
    assert logs.index(suppressed) < len(logs) - 1, "told when its minute passed, before the next minute's lines"
    assert len(execution.refusals()) == 1001 + REFUSALS_TOLD_PER_MINUTE + 2, "every refusal is kept (risk.csv)"


def test_a_resumed_day_run_tells_the_fills_it_replays_as_replayed() -> None:
    journal = MemoryOrderJournal()

    def resumed_run() -> ExecutionManager:
        ids = SessionOrderIds("story", DAY)
        execution = ExecutionManager(PaperBroker(initial_cash=100_000.0), RiskGuard(RiskLimits()), ids=ids,
                                     journaling=OrderJournaling(journal, journal.day(ids.prefix)),
                                     trade_log=TradeLog(logging.INFO))
        execution.begin_session(DAY, CLOSE, ["SPY"])
        return execution

    def step(execution: ExecutionManager, minute: int, *, catch_up: bool = False) -> None:
        execution.start_step(at(minute + 1), catch_up=catch_up)
        execution.on_bar(bar(minute))
        execution.begin_step(at(minute + 1), catch_up=catch_up)

    first = resumed_run()
    step(first, 0)
    bought = first.submit("sma#0", "SPY", Side.BUY, 10, None, None, at(1))
    step(first, 1)  # filled; then the process dies
    second = resumed_run()
    with capture_logs() as logs:
        step(second, 0, catch_up=True)
        assert second.submit("sma#0", "SPY", Side.BUY, 10, None, None, at(1)).client_order_id == bought.client_order_id
        step(second, 1, catch_up=True)
        more = second.submit("sma#0", "SPY", Side.BUY, 5, None, None, at(2))
        step(second, 2)
    assert [(e["client_order_id"], e["replayed"]) for e in story(logs, "order_filled")] == [
        (bought.client_order_id, True), (more.client_order_id, None)]
    assert [e["client_order_id"] for e in story(logs, "order_submitted")] == [more.client_order_id], \
        "the adopted order is not told as sent again"


def test_the_session_close_flatten_is_told(tmp_path: Path) -> None:
    execution = day_run_execution()
    execution.on_bar(bar(0))
    execution.submit("sma#0", "SPY", Side.BUY, 10, None, None, at(1))
    execution.on_bar(bar(1))
    with capture_logs() as logs:
        execution.close_session(at(2))
    [close] = story(logs, "session_close_flatten")
    assert close["positions"] == {"SPY": 10} and close["log_level"] == "info"
    [sell] = story(logs, "order_submitted")
    assert sell["closing"] is True and sell["side"] == "sell" and sell["log_level"] == "info"


def test_a_backtest_tells_the_same_story_at_debug(tmp_path: Path, data_dir: Path) -> None:
    config = load_session_config(REPO / "session_configs" / "spy_2011_backtest.json")
    config = config.model_copy(update={"backtest_config": config.backtest_config.model_copy(  # type: ignore[union-attr]
        update={"start_date": DAY, "end_date": DAY})})
    app = App(settings=Settings(data_dir=data_dir, state_dir=tmp_path / "state"),
              clock=SimClock(datetime(1970, 1, 1, tzinfo=UTC)))
    with capture_logs() as logs:
        outcome = run_backtest(app, config, tmp_path / "out")
    told = [e for e in logs if e["event"] in (*STORY, "session_close_flatten")]
    assert outcome.result.fills and len(story(told, "order_filled")) == len(outcome.result.fills)
    assert {e["log_level"] for e in told} == {"debug"}, "a backtest keeps its progress bar readable"


# -- the daemon's own lines: halts and the operator's commands ---------------------------------


class Daemon:
    """A DaemonControl holding a real KillSwitch and ExecutionManager (what Daemon.halt does)."""

    def __init__(self, tmp_path: Path) -> None:
        self.execution = day_run_execution()
        self.switch = KillSwitch(HaltStore(tmp_path / "halt.json"), T0)

    def snapshot(self) -> Any:
        return SimpleNamespace(timezone=ZoneInfo("America/New_York"))

    def halt(self, by: str, reason: str, flatten: bool) -> Any:
        return self.switch.halt(self.execution, True, at(5), by, reason, flatten)

    def resume(self, by: str) -> Any:
        return self.switch.resume(self.execution, by)

    def flatten(self) -> list[str]:
        return [o.client_order_id for o in self.execution.flatten(at(5))]

    def reload(self) -> dict[str, object]:
        raise ConfigError(["lead_minutes: must be >= 0, got -1"], source="/etc/mismarterad/mismarterad.toml")


def test_operator_commands_are_logged_with_the_peer_and_the_result(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path)
    daemon.execution.on_bar(bar(0))
    daemon.execution.submit("sma#0", "SPY", Side.BUY, 100, None, None, at(1))
    daemon.execution.on_bar(bar(1))
    api = ControlApi(daemon)  # type: ignore[arg-type]
    peer = Peer(4242, os.getuid(), os.getgid())
    with capture_logs() as logs:
        api.handle("halt", {"words": ["flatten", "broker", "outage"]}, peer)
        api.handle("resume", {"words": []}, peer)
        with pytest.raises(CommandError):
            api.handle("reload", {"words": []}, peer)
        api.handle("help", {"words": []}, peer)
    commands = story(logs, "operator_command")
    assert [(e["cmd"], e["ok"], e["log_level"]) for e in commands] == [
        ("halt", True, "info"), ("resume", True, "info"), ("reload", False, "warning")]  # reads are not logged
    halt, resume, reload = commands
    assert halt["peer"] == peer.name and halt["peer_pid"] == 4242 and halt["words"] == ["flatten", "broker", "outage"]
    assert halt["in_session"] is True and len(halt["flatten_orders"]) == 1
    assert reload["error"] == "config_invalid" and "lead_minutes" in reload["message"]
    [halted] = story(logs, "trading_halted")
    assert halted["by"] == peer.name and halted["reason"] == "broker outage" and halted["flatten"] is True
    [flatten_order] = [e for e in story(logs, "order_submitted") if e.get("closing")]
    assert flatten_order["client_order_id"] == halt["flatten_orders"][0] and flatten_order["strategy"] == "sma#0"
    assert story(logs, "trading_resumed")[0]["by"] == peer.name


def test_every_command_that_changes_the_daemon_is_an_operator_command() -> None:
    assert set(OPERATOR_COMMANDS) <= set(COMMANDS)
    assert {"start", "stop", "halt", "resume", "flatten", "reload"} <= set(OPERATOR_COMMANDS)


@pytest.fixture(autouse=True)
def _plain_structlog() -> None:
    structlog.reset_defaults()  # capture every level, whatever an earlier test configured
