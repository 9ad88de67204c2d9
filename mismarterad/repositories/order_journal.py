"""The order journal in the database: a daemon's orders and fills, per account.

Rows are the `orders` and `fills` tables with `account` set (db/migrations 0004): an id is
unique within the account across days and restarts, a resumed day-run advances the rows its
earlier runs wrote (core/order_states.py decides what a report changes), and a fill is booked
once per (order, execution id). Each call is one committed transaction: when `record` returns,
a process killed at the next instant has the intent on disk (SQLite runs in WAL mode, which
keeps a committed transaction through a process kill).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, update

from mismarterad.core.journal import DayJournal, JournaledFill
from mismarterad.core.order_states import advance
from mismarterad.core.orders import Fill, Order, Side
from mismarterad.db.engine import DbSessionFactory
from mismarterad.db.tables import FillRow, OrderRow
from mismarterad.repositories.order_repository import like_prefix, order_row, order_value

__all__ = ["SqlOrderJournal"]

_CHUNK = 500  # ids per IN (...) list: far under SQLite's and PostgreSQL's bound-parameter limits


class SqlOrderJournal:
    def __init__(self, db_sessions: DbSessionFactory, account: str, run_id: int) -> None:
        self._db_sessions = db_sessions
        self.account = account
        self._run_id = run_id
        with db_sessions() as db:
            self._seq = db.scalar(select(func.max(FillRow.seq)).where(FillRow.run_id == run_id)) or 0

    def record(self, orders: Sequence[Order]) -> None:
        if not orders:
            return
        folded: dict[str, Order] = {}  # several reports of one order in a batch: merged in order
        for order in orders:
            held = folded.get(order.client_order_id)
            folded[order.client_order_id] = order if held is None else advance(held, order)
        with self._db_sessions.begin() as db:
            stored = {r.client_order_id: r for chunk in _chunks(list(folded))
                      for r in db.scalars(select(OrderRow).where(OrderRow.account == self.account,
                                                                 OrderRow.client_order_id.in_(chunk)))}
            new = []
            for client_order_id, order in folded.items():
                row = stored.get(client_order_id)
                if row is None:
                    new.append({**order_row(self._run_id, order), "account": self.account})
                    continue
                held_values = order_row(row.run_id, order_value(row))
                values = order_row(row.run_id, advance(order_value(row), order))
                if values != held_values:
                    db.execute(update(OrderRow).where(OrderRow.id == row.id).values(**values))
            if new:
                db.execute(insert(OrderRow), new)

    def record_fills(self, fills: Sequence[Fill], applied_utc: datetime | None) -> list[Fill]:
        if not fills:
            return []
        with self._db_sessions.begin() as db:
            ids = sorted({f.client_order_id for f in fills})
            booked = {(r.client_order_id, r.execution_id) for chunk in _chunks(ids)
                      for r in db.execute(select(FillRow.client_order_id, FillRow.execution_id).where(
                          FillRow.account == self.account, FillRow.client_order_id.in_(chunk)))}
            fresh = []
            for fill in fills:
                key = (fill.client_order_id, fill.execution_id)
                if key not in booked:
                    booked.add(key)
                    fresh.append(fill)
            if fresh:
                rows = []
                for fill in fresh:
                    self._seq += 1
                    rows.append({"run_id": self._run_id, "seq": self._seq, "account": self.account,
                                 "client_order_id": fill.client_order_id, "execution_id": fill.execution_id,
                                 "symbol": fill.symbol, "side": fill.side.value, "quantity": fill.quantity,
                                 "price": fill.price, "commission": fill.commission, "ts_utc": fill.ts_utc,
                                 "applied_utc": applied_utc})
                db.execute(insert(FillRow), rows)
        return fresh

    def mark_applied(self, fills: Sequence[Fill], applied_utc: datetime) -> None:
        if not fills:
            return
        with self._db_sessions.begin() as db:
            for fill in fills:
                db.execute(update(FillRow).where(
                    FillRow.account == self.account, FillRow.client_order_id == fill.client_order_id,
                    FillRow.execution_id == fill.execution_id, FillRow.applied_utc.is_(None)).values(
                    applied_utc=applied_utc))

    def day(self, id_prefix: str) -> DayJournal:
        pattern = like_prefix(id_prefix)
        with self._db_sessions() as db:
            orders = tuple(order_value(r) for r in db.scalars(
                select(OrderRow).where(OrderRow.account == self.account,
                                       OrderRow.client_order_id.like(pattern, escape="\\")).order_by(OrderRow.id)))
            strategy = {o.client_order_id: o.request.strategy for o in orders}
            fills = tuple(
                JournaledFill(Fill(r.client_order_id, r.symbol, Side(r.side), r.quantity, r.price, r.commission,
                                   r.ts_utc, strategy.get(r.client_order_id, ""), r.execution_id), r.applied_utc)
                for r in db.scalars(select(FillRow).where(
                    FillRow.account == self.account,
                    FillRow.client_order_id.like(pattern, escape="\\")).order_by(FillRow.id)))
        return DayJournal(orders, fills)

    def known(self, client_order_ids: Sequence[str]) -> set[str]:
        with self._db_sessions() as db:
            return {coid for chunk in _chunks(sorted(set(client_order_ids)))
                    for coid in db.scalars(select(OrderRow.client_order_id).where(
                        OrderRow.account == self.account, OrderRow.client_order_id.in_(chunk)))}


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
