"""The Schwab adapter's own record of its POSTs: what each was, and the Schwab id it became.

Schwab keeps no id of ours, so this file is the adapter's half of the link between the daemon's
journal (client order ids) and Schwab's orders. One JSON line per event, appended and fsynced:

* `posted` (before the POST): the order and the moment (clock time). An intent the journal
  holds with no `posted` line was never POSTed: its lookup answers "no such order" at once.
* `bound`: the Schwab id it became, from the POST's `Location` (written before the broker
  returns) or found by the matching rule (order_matching.py) after the answer was lost.
* `closed`: Schwab refused the POST (a 4xx): no order was made, so it is no rival of a later
  POST whose answer is lost.

A restarted daemon reads the day's links back, so every order answered before the crash is
bound and only the POSTs whose answer was lost are matched, and never to an order that is
another's. A crash can leave a torn last line: it is skipped. Lines of other accounts (another
`account_hash`) and of more than `keep_days` before the newest are dropped when the file is
read (rewritten atomically), so it stays small.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from mismarterad.core.errors import StorageError
from mismarterad.core.orders import OrderRequest, OrderType, Side
from mismarterad.core.durable_files import append_line, replace_file
from mismarterad.integrations.schwab.order_matching import Posted

__all__ = ["LEDGER_FILE_NAME", "OrderLedger"]

log = structlog.get_logger(component="schwab_ledger")

LEDGER_FILE_NAME = "schwab-orders.jsonl"  # in the state directory


class OrderLedger:
    """The ledger of one account (`account_hash`) at `path`; thread-safe. Writes raise
    StorageError: an order whose POST cannot be recorded is not POSTed; see `bind` for a
    binding that cannot be."""

    def __init__(self, path: Path, account_hash: str, keep_days: int = 14) -> None:
        self.path, self._account = path, account_hash
        self._lock = threading.Lock()
        self._posted: dict[str, Posted] = {}
        self._order_of: dict[str, str] = {}  # client id -> Schwab order id
        self._client_of: dict[str, str] = {}  # Schwab order id -> client id
        self._closed: set[str] = set()  # POSTs Schwab refused
        self._unwritten: list[str] = []  # `bound` lines a failed write left to write again
        self._load(timedelta(days=keep_days))

    # -- writes ------------------------------------------------------------------------------

    def post(self, posted: Posted) -> None:
        """Record a POST about to be made (fsynced before it returns)."""
        raw = asdict(posted.request)
        raw.update(side=posted.request.side.value, type=posted.request.type.value,
                   posted_utc=posted.posted_utc.isoformat())
        del raw["submitted_utc"]  # the posted time is what the matching rule needs
        self._write(self._line({"posted": raw}))
        with self._lock:
            self._posted[posted.client_order_id] = posted

    def bind(self, client_order_id: str, order_id: str) -> None:
        """Record that our order is Schwab's `order_id` (fsynced before it returns); idempotent.
        The link holds for this process even if the write fails (StorageError): the order is
        Schwab's `order_id` whatever the disk says. The line is written again before the
        ledger's next line (a disk that was full has room again); a restart before that finds
        only the `posted` line and matches the order by the rule, as after a lost answer."""
        with self._lock:
            if self._order_of.get(client_order_id) == order_id:
                return
            self._order_of[client_order_id] = order_id
            self._client_of[order_id] = client_order_id
        line = self._line({"bound": {"client_order_id": client_order_id, "order_id": order_id}})
        try:
            self._write(line)
        except StorageError:
            with self._lock:
                self._unwritten.append(line)
            raise

    def close(self, client_order_id: str) -> None:
        """Record that the POST made no order (Schwab refused it)."""
        self._write(self._line({"closed": client_order_id}))
        with self._lock:
            self._closed.add(client_order_id)

    # -- reads -------------------------------------------------------------------------------

    def posted(self, client_order_id: str) -> Posted | None:
        with self._lock:
            return self._posted.get(client_order_id)

    def order_id(self, client_order_id: str) -> str | None:
        with self._lock:
            return self._order_of.get(client_order_id)

    def client_id(self, order_id: str) -> str | None:
        with self._lock:
            return self._client_of.get(order_id)

    def closed(self, client_order_id: str) -> bool:
        with self._lock:
            return client_order_id in self._closed

    def bound_ids(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._client_of)

    def unbound(self) -> list[Posted]:
        """Our POSTs whose Schwab order is not known: their answer was lost."""
        with self._lock:
            return [p for cid, p in self._posted.items() if cid not in self._order_of and cid not in self._closed]

    # -- the file ----------------------------------------------------------------------------

    def _line(self, entry: dict[str, Any]) -> str:
        return json.dumps({**entry, "account_hash": self._account}, sort_keys=True)

    def _write(self, line: str) -> None:
        """Append `line`, after the bindings whose write failed earlier (StorageError)."""
        with self._lock:
            pending = list(self._unwritten)
        try:
            for earlier in pending:
                append_line(self.path, earlier)
                with self._lock:
                    if earlier in self._unwritten:  # another thread may have written it too (read back once)
                        self._unwritten.remove(earlier)
            append_line(self.path, line)
        except OSError as exc:
            raise StorageError(f"{self.path}: cannot record the Schwab order ({exc.strerror})") from exc

    def _load(self, keep: timedelta) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise StorageError(f"{self.path}: cannot read the Schwab order ledger ({exc})") from exc
        ours: list[tuple[str, dict[str, Any], Posted | None]] = []
        others: list[str] = []  # another account's lines, kept as they are
        for line in lines:
            try:
                entry = json.loads(line)
                if entry.get("account_hash") != self._account:
                    others.append(line)
                    continue
                ours.append((line, entry, _posted(entry["posted"]) if "posted" in entry else None))
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("ledger_line_skipped", path=str(self.path))  # torn after a crash, or damaged
        newest = max((p.posted_utc for _, _, p in ours if p is not None), default=None)
        for _, _, posted in ours:
            if posted is not None and newest is not None and posted.posted_utc >= newest - keep:
                self._posted[posted.client_order_id] = posted
        kept = [line for line, _, posted in ours if posted is not None and posted.client_order_id in self._posted]
        for line, entry, posted in ours:
            bound = entry.get("bound") if posted is None else None
            if isinstance(bound, dict) and str(bound.get("client_order_id")) in self._posted:
                cid, order_id = str(bound["client_order_id"]), str(bound["order_id"])
                self._order_of[cid], self._client_of[order_id] = order_id, cid
                kept.append(line)
            elif posted is None and str(entry.get("closed")) in self._posted:
                self._closed.add(str(entry["closed"]))
                kept.append(line)
        if len(kept) + len(others) < len(lines):  # old or damaged lines: rewritten without them
            try:
                replace_file(self.path, "".join(f"{line}\n" for line in others + kept).encode(), 0o600)
            except OSError as exc:
                raise StorageError(f"{self.path}: cannot rewrite the Schwab order ledger ({exc.strerror})") from exc


def _posted(raw: dict[str, Any]) -> Posted:
    posted_utc = datetime.fromisoformat(raw["posted_utc"])
    return Posted(OrderRequest(str(raw["client_order_id"]), str(raw["symbol"]), Side(raw["side"]),
                               int(raw["quantity"]), OrderType(raw["type"]), _float(raw.get("limit_price")),
                               _float(raw.get("stop_price")), posted_utc, str(raw.get("strategy", ""))), posted_utc)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
