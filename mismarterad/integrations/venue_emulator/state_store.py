"""The account on disk: `<state-dir>/account.json`, rewritten atomically after every change.

A write goes to a temporary file in the same directory, is fsynced, then renamed over the old
file (and the directory fsynced), so a crash leaves the previous or the new account, never half
of one. Positions carry overnight and orders keep their history across restarts and days.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mismarterad.core.errors import StorageError
from mismarterad.core.orders import Side
from mismarterad.core.durable_files import replace_file
from mismarterad.integrations.venue_emulator.account import Account
from mismarterad.integrations.venue_emulator.values import (
    EmulatedOrderType,
    EmulatedOrder,
    ExecutionRecord,
    OrderSpec,
    OrderStatus,
    Position,
    TimeInForce,
)

__all__ = ["StateStore"]

_FORMAT = 1
_FIRST_NUMBER = 1_000_000_001  # numeric ids look like a broker's, ten digits
_TIMES = ("created_utc", "updated_utc", "filled_utc", "canceled_utc", "expired_utc", "failed_utc")


class StateStore:
    """Load and save one emulated account; I/O failures raise StorageError naming the file."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / "account.json"

    def load(self, numeric_ids: bool = False) -> Account:
        """The saved account, or a fresh one (written at once, which proves the directory
        writable). `numeric_ids`: later orders and executions are numbered (Schwab's ids), on
        from the highest number it holds; else they are UUIDs (Alpaca's)."""
        if not self.path.exists():
            account = Account()
            self.save(account)
        else:
            account = self._read()
        if numeric_ids:
            account.use_ids(_counter(account))
        return account

    def _read(self) -> Account:
        try:
            raw = json.loads(self.path.read_text())
            return _account(raw)
        except OSError as exc:
            raise StorageError(f"{self.path}: cannot read the emulator account: {exc.strerror}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"{self.path}: damaged emulator account ({exc}); move it away to start afresh") from exc

    def save(self, account: Account) -> None:
        text = json.dumps(_raw(account), indent=1, sort_keys=True)
        try:
            replace_file(self.path, text.encode())
        except OSError as exc:
            raise StorageError(f"{self.path}: cannot write the emulator account: {exc.strerror}") from exc


def _raw(account: Account) -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "cash": account.cash,
        "opened_through": _day(account.opened_through),
        "closed_through": _day(account.closed_through),
        "last_price": account.last_price,
        "positions": [asdict(p) for p in account.positions.values()],
        "orders": [_raw_order(o) for o in account.orders.values()],
    }


def _counter(account: Account) -> Callable[[], str]:
    used = [o.id for o in account.orders.values()] + [e.id for o in account.orders.values() for e in o.executions]
    numbers = itertools.count(max([_FIRST_NUMBER - 1, *(int(i) for i in used if i.isdigit())]) + 1)
    return lambda: str(next(numbers))


def _raw_order(order: EmulatedOrder) -> dict[str, Any]:
    raw = asdict(order)
    raw["session_day"] = order.session_day.isoformat()
    raw["executions"] = [{**asdict(e), "ts_utc": e.ts_utc.isoformat()} for e in order.executions]
    for name in _TIMES:
        value = raw[name]
        raw[name] = None if value is None else value.isoformat()
    return raw


def _account(raw: dict[str, Any]) -> Account:
    if raw.get("format") != _FORMAT:
        raise ValueError(f"unknown format {raw.get('format')!r}")
    account = Account(
        cash=float(raw["cash"]),
        positions=[Position(p["symbol"], int(p["qty"]), float(p["avg_entry_price"])) for p in raw["positions"]],
        orders=[_order(o) for o in raw["orders"]],
        opened_through=_parse_day(raw["opened_through"]),
        closed_through=_parse_day(raw["closed_through"]),
    )
    account.last_price.update({str(k): float(v) for k, v in raw.get("last_price", {}).items()})
    return account


def _order(raw: dict[str, Any]) -> EmulatedOrder:
    spec = dict(raw["spec"])
    spec.update(side=Side(spec["side"]), type=EmulatedOrderType(spec["type"]),
                time_in_force=TimeInForce(spec["time_in_force"]))
    fields = dict(raw)
    fields.update(spec=OrderSpec(**spec), status=OrderStatus(raw["status"]),
                  session_day=date.fromisoformat(raw["session_day"]),
                  executions=tuple(ExecutionRecord(str(e["id"]), int(e["qty"]), float(e["price"]),
                                                   datetime.fromisoformat(e["ts_utc"]))
                                   for e in raw.get("executions", ())))
    for name in _TIMES:
        value = raw[name]
        fields[name] = None if value is None else datetime.fromisoformat(value)
    return EmulatedOrder(**fields)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)
