"""A scripted stand-in for alpaca-py's TradingClient (the broker's `_client`), and helpers to
make Alpaca's orders, API errors and trade updates for the broker's unit tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.models import Order as AlpacaOrder

from alpaca_updates import alpaca_order, trade_update
from mismarterad.integrations.alpaca.broker import AlpacaBroker


def api_error(status: int, message: str) -> APIError:
    response = requests.Response()
    response.status_code = status
    return APIError(json.dumps({"code": status * 100, "message": message}), requests.HTTPError(response=response))


def venue(status: str, cid: str, filled: int = 0, avg: float | None = None, *, type_: str = "market",
          oid: str | None = None, updated: str = "2024-03-11T13:31:00Z") -> AlpacaOrder:
    order = alpaca_order(status, filled, avg, cid=cid, type_=type_, updated=updated)
    return order.model_copy(update={"id": uuid.UUID(oid) if oid else uuid.uuid5(uuid.NAMESPACE_OID, cid)})


def push(broker: AlpacaBroker, event: str, order: AlpacaOrder, *, execution_id: str | None = None,
         qty: int | None = None, price: float | None = None) -> None:
    """Hand the broker a trade update as its stream would."""
    update = trade_update(event, order, "2024-03-11T13:31:00Z", execution_id=execution_id, qty=qty, price=price)
    asyncio.run(broker._on_trade_update(update))


class FakeTrading:
    """Every call is recorded; each is answered by the function set for it (default: 404 / empty)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.post: Callable[[Any], Any] = lambda body: venue("new", body.client_order_id)
        self.by_client_id: Callable[[str], Any] = self._not_found
        self.by_id: Callable[[str], Any] = self._not_found
        self.delete: Callable[[str], Any] = lambda oid: None
        self.account: Callable[[], Any] = self._not_found
        self.open: Callable[[], list[Any]] = list
        self.positions: Callable[[], list[Any]] = list

    @staticmethod
    def _not_found(*_args: Any) -> Any:
        raise api_error(404, "order not found")

    def submit_order(self, body: Any) -> Any:
        self.calls.append(("POST", body.client_order_id))
        return self.post(body)

    def get_order_by_client_id(self, cid: str) -> Any:
        self.calls.append(("LOOKUP", cid))
        return self.by_client_id(cid)

    def get_order_by_id(self, oid: Any) -> Any:
        self.calls.append(("GET", str(oid)))
        return self.by_id(str(oid))

    def cancel_order_by_id(self, oid: Any) -> Any:
        self.calls.append(("DELETE", str(oid)))
        return self.delete(str(oid))

    def get_account(self) -> Any:
        self.calls.append(("ACCOUNT", ""))
        return self.account()

    def get_all_positions(self) -> Any:
        self.calls.append(("POSITIONS", ""))
        return self.positions()

    def get_orders(self, filter: Any) -> Any:  # noqa: A002 - alpaca-py's name
        self.calls.append(("LIST", str(filter.status.value)))
        return self.open()

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)
