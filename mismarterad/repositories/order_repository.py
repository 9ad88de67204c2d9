"""Orders, fills and positions of a run. client_order_id is unique per run, so the same backtest
can run twice against one database.

The strategy of an order is stored with it; a fill's strategy is its order's (read through the
(run, client_order_id) join), and the positions table holds the broker's net position per symbol,
with its average price. Per-strategy positions are a function of the stored fills
(`strategy_positions`), so they need no table of their own. A run's orders and fills are
inserted with the driver's `executemany` in chunks of CHUNK_ROWS rows (repositories/bulk_insert.py):
no ORM object per row, and the rows being written never more than a chunk, however long the run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice

from sqlalchemy import and_, select, update

from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus, OrderType, Position, Side
from mismarterad.db.engine import DbSessionFactory
from mismarterad.db.tables import FillRow, OrderRow, PositionRow, RunRow
from mismarterad.repositories.bulk_insert import insert_many

__all__ = ["CHUNK_ROWS", "OrderRepository", "like_prefix", "order_row", "order_value"]

CHUNK_ROWS = 2_000


class OrderRepository:
    def __init__(self, db_sessions: DbSessionFactory) -> None:
        self._db_sessions = db_sessions

    def save_orders(self, run_id: int, orders: Sequence[Order]) -> None:
        """Insert new orders and update changed ones, in one transaction."""
        if not orders:
            return
        with self._db_sessions.begin() as db:
            existing = set(db.scalars(select(OrderRow.client_order_id).where(OrderRow.run_id == run_id)))
            for chunk in _chunks(o for o in orders if o.client_order_id not in existing):
                insert_many(db, OrderRow.__table__, [order_row(run_id, o) for o in chunk])
            for order in orders:
                if order.client_order_id in existing:
                    values = order_row(run_id, order)
                    db.execute(update(OrderRow).where(
                        OrderRow.run_id == run_id, OrderRow.client_order_id == order.client_order_id).values(**values))

    def save_fills(self, run_id: int, fills: Sequence[Fill], first_seq: int) -> None:
        if not fills:
            return
        with self._db_sessions.begin() as db:
            for first in range(0, len(fills), CHUNK_ROWS):
                insert_many(db, FillRow.__table__, [
                    {"run_id": run_id, "seq": first_seq + first + i, "client_order_id": f.client_order_id,
                     "symbol": f.symbol, "side": f.side.value, "quantity": f.quantity, "price": f.price,
                     "commission": f.commission, "ts_utc": f.ts_utc, "execution_id": ""}
                    for i, f in enumerate(fills[first : first + CHUNK_ROWS])
                ])

    def save_positions(self, run_id: int, positions: Sequence[Position], traded: Iterable[str],
                       updated_utc: datetime) -> None:
        """Upsert the run's positions: the given ones, and 0 for every other symbol `traded`."""
        rows = {p.symbol: (p.quantity, p.avg_price) for p in positions}
        for symbol in traded:
            rows.setdefault(symbol, (0, 0.0))
        if not rows:
            return
        with self._db_sessions.begin() as db:
            stored = {r.symbol: r for r in db.scalars(select(PositionRow).where(PositionRow.run_id == run_id))}
            for symbol, (quantity, avg_price) in sorted(rows.items()):
                row = stored.get(symbol)
                if row is None:
                    db.add(PositionRow(run_id=run_id, symbol=symbol, quantity=quantity, avg_price=avg_price,
                                       updated_utc=updated_utc))
                elif (row.quantity, row.avg_price) != (quantity, avg_price):
                    row.quantity, row.avg_price, row.updated_utc = quantity, avg_price, updated_utc

    def positions(self, run_id: int) -> list[Position]:
        with self._db_sessions() as db:
            rows = db.scalars(select(PositionRow).where(PositionRow.run_id == run_id).order_by(PositionRow.symbol))
            return [Position(r.symbol, r.quantity, r.avg_price) for r in rows]

    def orders(self, run_id: int) -> list[Order]:
        with self._db_sessions() as db:
            rows = db.scalars(select(OrderRow).where(OrderRow.run_id == run_id).order_by(OrderRow.client_order_id))
            return [order_value(r) for r in rows]

    def fills(self, run_id: int) -> list[Fill]:
        """The run's fills in order, each with its order's strategy ("" if the order is not stored)."""
        with self._db_sessions() as db:
            rows = db.execute(
                select(FillRow, OrderRow.strategy)
                .outerjoin(OrderRow, and_(OrderRow.run_id == FillRow.run_id,
                                          OrderRow.client_order_id == FillRow.client_order_id))
                .where(FillRow.run_id == run_id).order_by(FillRow.seq))
            return [Fill(r.client_order_id, r.symbol, Side(r.side), r.quantity, r.price, r.commission, r.ts_utc,
                         strategy or "") for r, strategy in rows]

    def journal_accounts(self, id_prefix: str) -> list[str]:
        """The accounts whose journal holds orders under an id prefix (one session's day)."""
        pattern = like_prefix(id_prefix)
        with self._db_sessions() as db:
            return sorted({a for a in db.scalars(select(OrderRow.account).where(
                OrderRow.account.is_not(None), OrderRow.client_order_id.like(pattern, escape="\\"))) if a})

    def live_fill_records(self, start_utc: datetime, end_utc: datetime) -> list[list[Fill]]:
        """The daemon's fills in [start_utc, end_utc), as complete records, each in order (for the
        pattern-day-trader count, which spans days and restarts): one record of every journaled
        fill (each execution once, whichever day-run booked it), then one per day-run of the
        rows from before the journal (each such run replayed its whole day)."""
        with self._db_sessions() as db:
            rows = db.scalars(
                select(FillRow).join(RunRow, RunRow.id == FillRow.run_id)
                .where(RunRow.kind == "live", FillRow.ts_utc >= start_utc, FillRow.ts_utc < end_utc)
                .order_by(FillRow.ts_utc, FillRow.id))
            journaled: list[Fill] = []
            by_run: dict[int, list[Fill]] = {}
            for r in rows:
                fill = Fill(r.client_order_id, r.symbol, Side(r.side), r.quantity, r.price, r.commission, r.ts_utc,
                            execution_id=r.execution_id)
                (journaled if r.account is not None else by_run.setdefault(r.run_id, [])).append(fill)
            return [journaled, *by_run.values()] if journaled else list(by_run.values())

    def strategy_positions(self, run_id: int) -> dict[tuple[str, str], int]:
        """Open positions per (strategy, symbol) after the run's stored fills, sorted."""
        held: dict[tuple[str, str], int] = {}
        for f in self.fills(run_id):
            held[(f.strategy, f.symbol)] = held.get((f.strategy, f.symbol), 0) + f.side.sign * f.quantity
        return {k: q for k, q in sorted(held.items()) if q != 0}


def _chunks(orders: Iterable[Order]) -> Iterator[list[Order]]:
    it = iter(orders)
    while chunk := list(islice(it, CHUNK_ROWS)):
        yield chunk


def order_row(run_id: int, o: Order) -> dict[str, object]:
    """The `orders` columns of an order (the journal's too)."""
    r = o.request
    return {
        "run_id": run_id, "client_order_id": r.client_order_id, "strategy": r.strategy, "symbol": r.symbol,
        "side": r.side.value, "quantity": r.quantity, "type": r.type.value, "limit_price": r.limit_price,
        "stop_price": r.stop_price, "status": o.status.value, "submitted_utc": r.submitted_utc,
        "filled_utc": o.filled_utc, "filled_quantity": o.filled_quantity, "avg_fill_price": o.avg_fill_price,
        "reason": o.reason,
    }


def order_value(r: OrderRow) -> Order:
    request = OrderRequest(r.client_order_id, r.symbol, Side(r.side), r.quantity, OrderType(r.type), r.limit_price,
                           r.stop_price, r.submitted_utc, r.strategy)
    return Order(request, OrderStatus(r.status), r.filled_quantity, r.avg_fill_price, r.filled_utc, r.reason)


def like_prefix(prefix: str) -> str:
    """A LIKE pattern (escape `\\`) matching the strings that start with `prefix` (`_` and `%` literal)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
