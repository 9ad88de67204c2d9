"""Sending and finding orders (order_sending.py) where Schwab's answers leave no doubt, or do:
a 401 whose token refresh fails made nothing; a listing that is not a list, or holds an order
it cannot read that could be our lost one, concludes nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

from mismarterad.core.clock import SystemClock
from mismarterad.core.orders import OrderRequest, OrderStatus, OrderType, Side
from mismarterad.core.errors import BrokerError
from mismarterad.integrations.broker_errors import BrokerAuthError
from mismarterad.integrations.op_budget import operation_budget
from mismarterad.integrations.order_book import OrderBook
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.integrations.schwab.order_ledger import OrderLedger
from mismarterad.integrations.schwab.order_matching import Posted
from mismarterad.integrations.schwab.order_sending import OrderSending


class _Answers401:
    def place_order(self, account_hash: str, spec: object) -> httpx2.Response:
        return httpx2.Response(401, json={"message": "token expired"},
                               request=httpx2.Request("POST", "https://api.schwabapi.com/trader/v1/orders"))


class _RefusingRest:
    retry = RetryPolicy()
    client = _Answers401()
    rest_ok = True

    def refresh(self, what: str) -> None:
        raise BrokerAuthError("Schwab refused the refresh token")

    def scrub(self, message: str) -> str:
        return message


def test_a_401_whose_refresh_fails_rejects_the_order_and_closes_it_in_the_ledger(tmp_path: Path) -> None:
    ledger = OrderLedger(tmp_path / "schwab-orders.jsonl", "HASH")
    book = OrderBook("Schwab")
    sending = OrderSending(_RefusingRest(), ledger, "HASH", SystemClock(), threading.Condition(), book,  # type: ignore[arg-type]
                           take=None, changed=lambda: None, settle_secs=60, op_secs=7)
    request = OrderRequest("c1", "AAPL", Side.BUY, 1, OrderType.MARKET, None, None, datetime.now(UTC), "s")
    book.take_new(request, None)
    with pytest.raises(BrokerAuthError), operation_budget(7):
        sending.send(request)
    assert book.get("c1").status is OrderStatus.REJECTED
    assert not book.is_unresolved("c1") and book.broker_id("c1") is None
    assert ledger.closed("c1") and [p.client_order_id for p in ledger.unbound()] == []


class _Lists:
    def __init__(self, listed: object) -> None:
        self.listed = listed

    def get_orders_for_account(self, account_hash: str, **window: object) -> object:
        return self.listed


class _ListingRest(_RefusingRest):
    def __init__(self, listed: object) -> None:
        self.client = _Lists(listed)  # type: ignore[assignment]

    def json(self, call: object, what: str) -> object:
        return call()  # type: ignore[operator]


def _sending(tmp_path: Path, listed: object) -> tuple[OrderSending, OrderLedger]:
    ledger = OrderLedger(tmp_path / "schwab-orders.jsonl", "HASH")
    return OrderSending(_ListingRest(listed), ledger, "HASH", SystemClock(), threading.Condition(),  # type: ignore[arg-type]
                        OrderBook("Schwab"), take=None, changed=lambda: None, settle_secs=60, op_secs=7), ledger


def _unreadable(symbol: str) -> dict[str, object]:
    return {"orderId": 7, "status": "SOMETHING_NEW", "orderType": "MARKET", "quantity": 1.0, "filledQuantity": 0,
            "enteredTime": "2024-03-11T14:00:00+0000",
            "orderLegCollection": [{"instruction": "BUY", "instrument": {"assetType": "EQUITY", "symbol": symbol},
                                    "quantity": 1.0}]}


def _lost_post() -> Posted:
    request = OrderRequest("c1", "AAPL", Side.BUY, 1, OrderType.MARKET, None, None, datetime.now(UTC), "s")
    return Posted(request, request.submitted_utc)


def test_a_listing_that_is_not_a_list_concludes_nothing(tmp_path: Path) -> None:
    sending, _ = _sending(tmp_path, {"error": "maintenance"})
    with pytest.raises(BrokerError, match="not a list"):
        sending.listing(datetime.now(UTC), datetime.now(UTC))


def test_an_unreadable_order_that_could_be_our_lost_one_concludes_nothing(tmp_path: Path) -> None:
    sending, ledger = _sending(tmp_path, [_unreadable("AAPL")])
    assert sending.listing(datetime.now(UTC), datetime.now(UTC)) == []  # no lost order: another client's
    ledger.post(_lost_post())
    with pytest.raises(BrokerError, match="AAPL"):
        sending.listing(datetime.now(UTC), datetime.now(UTC))
    other, other_ledger = _sending(tmp_path / "o", [_unreadable("MSFT")])
    other_ledger.post(_lost_post())
    assert other.listing(datetime.now(UTC), datetime.now(UTC)) == []
