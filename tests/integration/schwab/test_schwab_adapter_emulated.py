"""The Schwab adapter against the emulator's faults: an order whose answer is lost is found by
the matching rule and never sent twice, the rule refuses to guess between two candidates, fills
count once, refused tokens and dead hosts say what to do (the bar feed's reconnects and gap
fills: tests/integration/test_venue_feeds_emulated.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from schwab.orders.equities import equity_buy_market

from mismarterad.core.clock import ReplayClock
from mismarterad.core.errors import BrokerError, ConfigError
from mismarterad.core.market_data import Bar
from mismarterad.core.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from mismarterad.integrations.broker_errors import BrokerAuthError, BrokerUnavailableError
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.integrations.schwab import (
    SchwabBroker,
    SchwabConnection,
    SchwabEndpoint,
    SchwabSettings,
    TokenFile,
    connect,
)
from mismarterad.integrations.schwab.order_ledger import OrderLedger
from mismarterad.integrations.schwab.order_matching import Posted
from support.schwab_emulator import ACCOUNT_NUMBER, SchwabEmulator, running_schwab_emulator

T0 = datetime(2011, 1, 3, 14, 30, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=4, initial_backoff_secs=0.05, max_backoff_secs=0.2, jitter_secs=0.0,
                   max_total_secs=3.0)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[SchwabEmulator]:
    with running_schwab_emulator(tmp_path / "data", tmp_path / "state", clock_start=T0.isoformat(), speed=1.0) as emu:
        yield emu


def _connect(emu: SchwabEmulator, ledger: Path, **options: float) -> SchwabConnection:
    settings = SchwabSettings(ACCOUNT_NUMBER, TokenFile(emu.token_file), ledger, emu.endpoint)
    return connect(emu.credentials, settings, ReplayClock(T0, 1.0), fill_wait_secs=5.0, **options)


@pytest.fixture
def connection(emulator: SchwabEmulator, tmp_path: Path) -> Iterator[SchwabConnection]:
    opened = _connect(emulator, tmp_path / "ledger.jsonl")
    opened.session.client.set_timeout(0.5)  # a lost answer is given up on in half a second
    yield opened
    opened.close()


@pytest.fixture
def broker(connection: SchwabConnection) -> SchwabBroker:
    return connection.broker


def _req(cid: str, qty: int = 10, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(cid, "SPY", side, qty, OrderType.MARKET, None, None, T0)


def _bar(minute: int, price: float = 10.0) -> Bar:
    return Bar("SPY", "1m", T0 + timedelta(minutes=minute), price, price, price, price, 100)



def test_a_500_after_the_order_was_made_is_matched_not_resent(emulator: SchwabEmulator, broker: SchwabBroker) -> None:
    emulator.fault("http_500")
    order = broker.submit(_req("c1"))
    assert order.status is OrderStatus.ACCEPTED and order.reason is None
    assert len(emulator.posted()) == 1 and len(emulator.state()["open_orders"]) == 1
    assert broker.lookup("c1") is not None


def test_a_lost_answer_is_matched_not_resent(emulator: SchwabEmulator, broker: SchwabBroker) -> None:
    emulator.fault("lost_response", hold_secs=3)
    order = broker.submit(_req("c2"))
    assert order.status is OrderStatus.ACCEPTED
    [post] = emulator.posted()
    assert "order_id" not in post and len(emulator.state()["open_orders"]) == 1


def test_a_429_was_not_made_and_is_sent_again(emulator: SchwabEmulator, broker: SchwabBroker) -> None:
    emulator.fault("http_429")
    assert broker.submit(_req("c3")).status is OrderStatus.ACCEPTED
    assert len(emulator.posted()) == 2 and len(emulator.state()["open_orders"]) == 1


def test_the_rule_refuses_to_guess_between_two_candidates_and_never_resends(
        emulator: SchwabEmulator, broker: SchwabBroker) -> None:
    for _ in range(2):  # the same order placed by another client, twice, just before ours
        other = emulator.session()
        other.client.place_order(emulator.account_hash(), equity_buy_market("SPY", 10))
        other.close()
    emulator.fault("lost_response", hold_secs=3)
    order = broker.submit(_req("c4"))
    assert order.status is OrderStatus.SUBMITTED and "outcome unknown" in (order.reason or "")
    with pytest.raises(BrokerError, match="does not guess"):
        broker.lookup("c4")
    assert len(emulator.posted()) == 3, "ours was sent once"
    working = {o.client_order_id for o in broker.venue_open_orders()}
    assert len(working) == 3 and "c4" not in working, "none of the three is taken for ours"


def test_an_intent_never_posted_is_none_at_once_and_a_crash_s_lost_order_is_found_by_a_new_broker(
        emulator: SchwabEmulator, tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.jsonl"
    account = emulator.account_hash()
    # the crash: the POST recorded and made, its answer never read
    OrderLedger(ledger_path, account).post(Posted(OrderRequest("lost-1", "SPY", Side.BUY, 7, OrderType.MARKET, None,
                                                               None, T0), T0))
    other = emulator.session()
    other.client.place_order(account, equity_buy_market("SPY", 7))
    other.close()
    later = _connect(emulator, ledger_path)
    try:
        before = len(_venue_requests(emulator))
        assert later.broker.lookup("never-posted-1", None) is None
        assert len(_venue_requests(emulator)) == before, "no request for an id never POSTed"
        journaled = Order(OrderRequest("lost-1", "SPY", Side.BUY, 7, OrderType.MARKET, None, None, T0),
                          OrderStatus.INTENT)
        found = later.broker.lookup("lost-1", journaled)
        assert found is not None and found.status is OrderStatus.ACCEPTED and found.request == journaled.request
        assert OrderLedger(ledger_path, account).order_id("lost-1") == emulator.posted()[-1]["order_id"]
    finally:
        later.close()


def test_a_binding_the_ledger_cannot_write_after_the_201_keeps_the_order_tracked_and_a_restart_finds_it(
        emulator: SchwabEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fails between Schwab's 201 and the `bound` line: submit answers with the order
    (no StorageError ends the day-run), this broker manages it by its id (it is ours in the
    venue's list, it can be canceled), nothing is sent twice, and a restart matches it from
    its `posted` line."""
    import errno

    from mismarterad.integrations.schwab import order_ledger

    written = order_ledger.append_line

    def disk_full_for_bindings(path: Path, line: str) -> None:
        if '"bound"' in line:
            raise OSError(errno.ENOSPC, "No space left on device")
        written(path, line)

    ledger_path = tmp_path / "ledger.jsonl"
    first = _connect(emulator, ledger_path)
    try:
        monkeypatch.setattr(order_ledger, "append_line", disk_full_for_bindings)
        order = first.broker.submit(_req("c8", qty=3))
        assert order.status is OrderStatus.ACCEPTED
        assert [o.client_order_id for o in first.broker.venue_open_orders()] == ["c8"], "ours, not another's"
        assert first.broker.cancel("c8").status is OrderStatus.CANCELED
        monkeypatch.undo()
    finally:
        first.close()
    [post] = emulator.posted()
    assert "bound" not in ledger_path.read_text()
    later = _connect(emulator, ledger_path)
    try:
        journaled = Order(_req("c8", qty=3), OrderStatus.SUBMITTED)
        found = later.broker.lookup("c8", journaled)
        assert found is not None and found.status is OrderStatus.CANCELED
        assert OrderLedger(ledger_path, emulator.account_hash()).order_id("c8") == post["order_id"]
        assert len(emulator.posted()) == 1, "never sent again"
    finally:
        later.close()


def test_duplicated_and_partial_fills_count_each_execution_once(emulator: SchwabEmulator,
                                                                broker: SchwabBroker) -> None:
    emulator.fault("partial_fill", fraction=0.4)
    emulator.fault("duplicate_updates", count=5)
    emulator.fault("out_of_order_updates")
    broker.submit(_req("c5"))
    for minute, price in ((1, 10.0), (2, 11.0)):
        emulator.inject_bars([_bar(minute, price)])
        broker.on_bar(_bar(minute, price))
    fills = broker.drain_fills()
    assert sorted((f.quantity, f.price) for f in fills) == [(4, 10.0), (6, 11.0)]
    assert broker.lookup("c5") is not None and broker.drain_fills() == []
    [order] = broker.orders()
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 10
    assert [(p.symbol, p.quantity) for p in broker.positions()] == [("SPY", 10)]


def test_a_rejected_order_reads_rejected(emulator: SchwabEmulator, broker: SchwabBroker) -> None:
    emulator.fault("reject_next_order")
    order = broker.submit(_req("c6"))
    assert order.status is OrderStatus.REJECTED and "Schwab" in (order.reason or "")


def test_an_expired_refresh_token_is_an_auth_error_saying_what_to_run(emulator: SchwabEmulator,
                                                                      broker: SchwabBroker) -> None:
    emulator.fault("expire_refresh_token")
    with pytest.raises(BrokerAuthError, match="mismarterad auth schwab") as info:
        broker.verify()
    token = json.loads(emulator.token_file.read_text())["token"]
    for secret in (emulator.app_key, emulator.app_secret, token["access_token"], token["refresh_token"]):
        assert secret not in str(info.value)


def test_a_token_seven_days_old_is_refused_before_anything_is_sent(emulator: SchwabEmulator, tmp_path: Path) -> None:
    old = json.loads(emulator.token_file.read_text())
    old["creation_timestamp"] -= 7 * 86_400 + 60
    path = tmp_path / "old-token.json"
    path.write_text(json.dumps(old))
    os.chmod(path, 0o600)
    before = len(_venue_requests(emulator))
    settings = SchwabSettings(ACCOUNT_NUMBER, TokenFile(path), tmp_path / "ledger.jsonl", emulator.endpoint)
    with pytest.raises(BrokerAuthError, match="refuses it after 7: run `mismarterad auth schwab`"):
        connect(emulator.credentials, settings, ReplayClock(T0, 1.0))
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="0600"):
        connect(emulator.credentials, settings, ReplayClock(T0, 1.0))
    assert len(_venue_requests(emulator)) == before


@pytest.mark.parametrize(("days_old", "refused"), [
    (6.8, True),
    (7 - 6.75 / 24, False),  # dies at 16:10: after the close and the day-run's 5 minutes past it
    (6.5, False),
])
def test_a_token_that_expires_before_the_close_is_refused_before_anything_is_sent(
        emulator: SchwabEmulator, tmp_path: Path, days_old: float, refused: bool) -> None:
    """A day-run opened at 09:25 runs until 16:00 and then settles: a token of 6.8 days dies
    4.8 hours later, mid-day, when the daemon could not even flatten; one of 6.5 days lasts."""
    aged = json.loads(emulator.token_file.read_text())
    aged["creation_timestamp"] -= int(days_old * 86_400)
    path = tmp_path / "aged-token.json"
    path.write_text(json.dumps(aged))
    os.chmod(path, 0o600)
    before = len(_venue_requests(emulator))
    settings = SchwabSettings(ACCOUNT_NUMBER, TokenFile(path), tmp_path / "ledger.jsonl", emulator.endpoint)
    clock = ReplayClock(datetime(2011, 1, 3, 14, 25, tzinfo=UTC), 1.0)  # 09:25 New York
    close = datetime(2011, 1, 3, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    if refused:
        with pytest.raises(BrokerAuthError, match=r"expires at .* UTC, in 4\.8 h, before this session's close at "
                                                  r"16:00 exchange time \(6\.6 h away\) plus 5 minutes: .*"
                                                  r"run `mismarterad auth schwab`"):
            connect(emulator.credentials, settings, clock, close=close)
        assert len(_venue_requests(emulator)) == before, "nothing was sent"
    else:
        connect(emulator.credentials, settings, clock, close=close).close()


def test_an_unknown_account_number_names_the_ones_reached(emulator: SchwabEmulator, tmp_path: Path) -> None:
    settings = SchwabSettings("99999999", TokenFile(emulator.token_file), tmp_path / "ledger.jsonl", emulator.endpoint)
    with pytest.raises(ConfigError, match=r"…999 .*reach: …678"):
        connect(emulator.credentials, settings, ReplayClock(T0, 1.0))


def test_a_dead_host_is_unavailable_naming_it(emulator: SchwabEmulator, tmp_path: Path) -> None:
    settings = SchwabSettings(ACCOUNT_NUMBER, TokenFile(emulator.token_file), tmp_path / "ledger.jsonl",
                              SchwabEndpoint.derive("http://127.0.0.1:9"))
    with pytest.raises(BrokerUnavailableError, match="127.0.0.1:9"):
        connect(emulator.credentials, settings, ReplayClock(T0, 1.0))


def _venue_requests(emu: SchwabEmulator) -> list[dict[str, object]]:
    return [r for r in emu.requests() if not str(r["path"]).startswith("/_emulator")]
