"""An order POST answered 401 whose token refresh then fails: Schwab made nothing (a 401 is a
refusal), so the order is closed in the ledger and rejected in the book, never left open with
an unknown outcome (it would count as working for the risk checks and be matched later)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

from mismarterad.core.clock import SystemClock
from mismarterad.core.orders import OrderRequest, OrderStatus, OrderType, Side
from mismarterad.integrations.broker_errors import BrokerAuthError
from mismarterad.integrations.op_budget import operation_budget
from mismarterad.integrations.order_book import OrderBook
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.integrations.schwab.order_ledger import OrderLedger
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
