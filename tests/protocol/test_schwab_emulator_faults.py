"""Every fault of the Schwab emulator (the Alpaca emulator's kinds plus streamer_login_code here,
expire_refresh_token in tests/protocol/test_schwab_emulator_protocol.py), its request log, its controls and its CLI,
seen through the real schwab-py Client and StreamClient."""

from __future__ import annotations

import asyncio
import json
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from schwab.orders.equities import equity_buy_market
from schwab.streaming import StreamClient

from mismarterad.core.market_data import Bar
from mismarterad.integrations.schwab import SchwabSession
from support.emulator_process import emulator_env
from support.schwab_emulator import SchwabEmulator, emulator_command, start_schwab_emulator

_minutes = iter(range(500, 10_000))  # injected minutes of this module (after the protocol module's)


def next_bar(price: float = 100.0) -> Bar:
    start = datetime(2011, 1, 4, 16, 0, tzinfo=UTC) + timedelta(minutes=next(_minutes))
    return Bar("SPY", "1m", start, price, price + 0.5, price - 0.5, price + 0.25, 500)


@pytest.fixture(scope="module")
def session(schwab_injected: SchwabEmulator) -> Iterator[SchwabSession]:
    opened = schwab_injected.session(request_timeout_secs=2.0)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def account(schwab_injected: SchwabEmulator) -> str:
    return schwab_injected.account_hash()


def listed(emulator: SchwabEmulator, session: SchwabSession, account: str) -> list[dict[str, Any]]:
    now = emulator.now()
    return session.client.get_orders_for_account(account, from_entered_datetime=now - timedelta(hours=1),
                                                 to_entered_datetime=now + timedelta(hours=1)).json()


def last_order_id(emulator: SchwabEmulator) -> str:
    return str(emulator.posted()[-1]["order_id"])


def test_a_bad_fault_is_refused_naming_the_field(schwab_injected: SchwabEmulator) -> None:
    status, body = schwab_injected.post("/_emulator/faults", {"kind": "partial_fill", "fraction": 1.5})
    assert status == 400 and "fraction" in body["error"]
    assert schwab_injected.post("/_emulator/faults", {"kind": "meteor"})[0] == 400


def test_http_500_on_an_order_comes_after_the_order_was_made(schwab_injected: SchwabEmulator,
                                                             session: SchwabSession, account: str) -> None:
    before = len(listed(schwab_injected, session, account))
    schwab_injected.fault("http_500")
    response = session.client.place_order(account, equity_buy_market("SPY", 1))
    assert response.status_code == 500 and "Location" not in response.headers
    assert len(listed(schwab_injected, session, account)) == before + 1


def test_http_429_makes_nothing_and_schwab_py_does_not_retry(schwab_injected: SchwabEmulator,
                                                             session: SchwabSession, account: str) -> None:
    before = len(listed(schwab_injected, session, account))
    schwab_injected.fault("http_429")
    assert session.client.place_order(account, equity_buy_market("SPY", 1)).status_code == 429
    assert len(listed(schwab_injected, session, account)) == before


def test_a_lost_response_makes_the_order_and_never_answers(schwab_injected: SchwabEmulator,
                                                           session: SchwabSession, account: str) -> None:
    before = len(listed(schwab_injected, session, account))
    schwab_injected.fault("lost_response", hold_secs=5)
    with pytest.raises(httpx2.TimeoutException):
        session.client.place_order(account, equity_buy_market("SPY", 1))
    assert len(listed(schwab_injected, session, account)) == before + 1
    assert "order_id" not in schwab_injected.posted()[-1], "no answer, so no id reached the client"


def test_delay_holds_the_response(schwab_injected: SchwabEmulator, session: SchwabSession) -> None:
    schwab_injected.fault("delay", ms=400)
    started = time.monotonic()
    assert session.client.get_account_numbers().status_code == 200
    assert time.monotonic() - started >= 0.4


def test_reject_next_order_answers_201_then_reads_rejected(schwab_injected: SchwabEmulator,
                                                           session: SchwabSession, account: str) -> None:
    schwab_injected.fault("reject_next_order")
    assert session.client.place_order(account, equity_buy_market("SPY", 1)).status_code == 201
    rejected = session.client.get_order(last_order_id(schwab_injected), account).json()
    assert rejected["status"] == "REJECTED" and rejected["filledQuantity"] == 0


def test_partial_fill_then_the_rest_on_the_next_bar_each_an_execution(schwab_injected: SchwabEmulator,
                                                                      session: SchwabSession, account: str) -> None:
    schwab_injected.fault("partial_fill", fraction=0.3)
    session.client.place_order(account, equity_buy_market("SPY", 10))
    order_id = last_order_id(schwab_injected)
    schwab_injected.inject_bars([next_bar(100.0)])
    partial = session.client.get_order(order_id, account).json()
    assert (partial["status"], partial["filledQuantity"]) == ("WORKING", 3)
    schwab_injected.inject_bars([next_bar(101.0)])
    done = session.client.get_order(order_id, account).json()
    legs = [a["executionLegs"][0] for a in done["orderActivityCollection"]]
    assert done["status"] == "FILLED" and [(leg["quantity"], leg["price"]) for leg in legs] == [(3, 100.0), (7, 101.0)]


def test_duplicate_and_out_of_order_updates_bend_the_activity_lists_read(schwab_injected: SchwabEmulator,
                                                                        session: SchwabSession, account: str) -> None:
    schwab_injected.fault("partial_fill", fraction=0.5)
    schwab_injected.fault("out_of_order_updates")
    session.client.place_order(account, equity_buy_market("SPY", 4))
    order_id = last_order_id(schwab_injected)
    schwab_injected.inject_bars([next_bar(100.0)])
    schwab_injected.inject_bars([next_bar(102.0)])
    newest_first = session.client.get_order(order_id, account).json()["orderActivityCollection"]
    ids = [a["activityId"] for a in newest_first]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2
    schwab_injected.fault("duplicate_updates", count=1)
    repeated = [a["activityId"] for a in session.client.get_order(order_id, account).json()["orderActivityCollection"]]
    assert repeated == ids + ids
    again = [a["activityId"] for a in session.client.get_order(order_id, account).json()["orderActivityCollection"]]
    assert again == ids, "one read only"


def stream_items(session: SchwabSession, until: Any, timeout_secs: float = 10.0
                 ) -> tuple[list[Any], threading.Thread]:
    """What schwab-py's StreamClient hands its handler until `until(items)`; closes by itself
    when the emulator drops the socket (then the error is the last item)."""
    items: list[Any] = []

    async def run() -> None:
        client = StreamClient(session.client)
        client.add_chart_equity_handler(lambda message: items.extend(message["content"]))
        await client.login()
        await client.chart_equity_subs(["SPY"])
        items.append("subscribed")
        try:
            while not until(items):
                await asyncio.wait_for(client.handle_message(), timeout_secs)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            items.append(exc)
        await client._socket.close()

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    return items, thread


def test_skip_bars_silences_the_streamer_and_drop_stream_closes_it(schwab_injected: SchwabEmulator,
                                                                    session: SchwabSession) -> None:
    items, thread = stream_items(session, lambda got: any(isinstance(i, Exception) for i in got))
    deadline = time.monotonic() + 10
    while "subscribed" not in items:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    schwab_injected.fault("skip_bars", count=1)
    skipped, sent = next_bar(100.0), next_bar(100.0)
    schwab_injected.inject_bars([skipped])
    schwab_injected.inject_bars([sent])
    while not [i for i in items if isinstance(i, dict)]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    schwab_injected.fault("drop_stream", stream="data")
    thread.join(10)
    bars = [i["CHART_TIME_MILLIS"] for i in items if isinstance(i, dict)]
    assert bars == [int(sent.start_utc.timestamp() * 1000)]
    assert isinstance(items[-1], Exception), "the dropped socket ends schwab-py's handle_message"


def test_streamer_login_code_answers_the_next_logins_with_the_code_and_closes_the_socket(
        schwab_injected: SchwabEmulator, session: SchwabSession) -> None:
    from schwab.streaming import UnexpectedResponseCode

    schwab_injected.fault("streamer_login_code", code=12, count=1)
    answers: list[Any] = []

    async def login() -> None:
        client = StreamClient(session.client)
        try:
            await client.login()
            answers.append("logged in")
        except UnexpectedResponseCode as exc:
            answers.append(exc.response["response"][0]["content"]["code"])
        await client._socket.close()

    asyncio.run(login())
    asyncio.run(login())
    assert answers == [12, "logged in"]
    status, body = schwab_injected.post("/_emulator/faults", {"kind": "streamer_login_code", "code": "x"})
    assert status == 400 and "code" in json.dumps(body)


def test_the_request_log_names_each_order_post_with_what_it_asked_and_the_id_it_became(
        schwab_injected: SchwabEmulator, session: SchwabSession, account: str) -> None:
    session.client.place_order(account, equity_buy_market("SPY", 2))
    last = schwab_injected.posted()[-1]
    assert last["order"] == {"symbol": "SPY", "instruction": "BUY", "quantity": 2, "orderType": "MARKET",
                             "price": None, "stopPrice": None}
    assert session.client.get_order(last["order_id"], account).json()["quantity"] == 2
    assert {"method", "path", "time"} <= set(last)


def test_state_and_clock_controls_need_no_token(schwab_injected: SchwabEmulator) -> None:
    state = schwab_injected.state()
    assert {"cash", "equity", "positions", "open_orders", "now"} <= set(state)
    assert all(o["orderId"] and o["status"] in ("WORKING", "QUEUED") for o in state["open_orders"])
    clock = schwab_injected.get("/_emulator/clock")
    assert datetime.fromisoformat(clock["timestamp"]).utcoffset() == timedelta(hours=-5)


# --- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_one_listening_line_writes_a_private_token_and_stops_cleanly(tmp_path: Path,
                                                                            sig: signal.Signals) -> None:
    emulator = start_schwab_emulator(tmp_path / "data", tmp_path / "state", tmp_path / "token.json")
    assert emulator.base_url.startswith("http://127.0.0.1:")
    assert stat.S_IMODE((tmp_path / "token.json").stat().st_mode) == 0o600
    assert json.loads((tmp_path / "token.json").read_text())["token"]["refresh_token"]
    emulator.process.send_signal(sig)
    assert emulator.process.wait(10) == 0


def test_bad_arguments_exit_with_one_clear_line(tmp_path: Path) -> None:
    def run(*extra: str, **changes: str) -> subprocess.CompletedProcess[str]:
        cmd = emulator_command(tmp_path / "data", tmp_path / "state", tmp_path / "token.json")
        for flag, value in changes.items():
            cmd[cmd.index(f"--{flag.replace('_', '-')}") + 1] = value
        return subprocess.run([*cmd, *extra], env=emulator_env(tmp_path / "data", tmp_path / "state"),
                              capture_output=True, text=True, timeout=30)

    (tmp_path / "data").mkdir()
    empty = run(app_key="")
    assert empty.returncode == 78 and "--app-key" in empty.stderr and "Traceback" not in empty.stderr
    number = run("--account-number", "12-34")
    assert number.returncode == 78 and "--account-number" in number.stderr
    no_token = run(token_file=str(tmp_path / "missing" / "dir" / "token.json"), data_dir=str(tmp_path / "nodata"))
    assert no_token.returncode == 78 and "--data-dir" in no_token.stderr
