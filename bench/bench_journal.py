"""What journaling an order costs: the intent committed before the send, the answer after it.

Run: .venv/bin/python bench/bench_journal.py

Per order, the daemon commits two transactions (the intent, then the broker's answer) and one
per batch of fills. Measured in one run, on the same machine, 2,000 orders each:

* the database journal on SQLite (WAL, synchronous=NORMAL: what the daemon uses; a committed
  transaction survives a killed process) in a temporary directory;
* the same with synchronous=FULL (what surviving a power cut would cost);
* the in-memory twin (the floor: the state machine and the bookkeeping without a database).

It prints p50/p99 per order (intent + answer) and the ratios against the in-memory twin. For
scale: the emulator's order round trip is about 35 ms (bench/bench_alpaca.py), Alpaca's over
the internet more.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from mismarterad.core.journal import OrderJournal
from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus, OrderType, Side
from mismarterad.db.engine import make_engine
from mismarterad.db.migrate import upgrade
from mismarterad.repositories.memory_order_journal import MemoryOrderJournal
from mismarterad.repositories.order_journal import SqlOrderJournal
from mismarterad.repositories.run_repository import RunRepository

ORDERS = 2000
T0 = datetime(2011, 1, 4, 14, 31, tzinfo=UTC)


def sql_journal(root: Path, synchronous: str) -> OrderJournal:
    engine = make_engine(f"sqlite:///{root / f'journal-{synchronous}.db'}")
    upgrade(engine)

    @event.listens_for(engine, "connect")
    def _sync(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA synchronous={synchronous}")

    engine.dispose()  # new connections take the pragma
    db_sessions = sessionmaker(engine, expire_on_commit=False)
    run_id = RunRepository(db_sessions).start("live", "bench", "0" * 64, T0)
    return SqlOrderJournal(db_sessions, "alpaca-paper", run_id)


def per_order_ms(journal: OrderJournal) -> list[float]:
    out = []
    for n in range(ORDERS):
        request = OrderRequest(f"20110104-abcdef-sma-SPY-o{n:05d}", "SPY", Side.BUY, 10, OrderType.MARKET, None,
                               None, T0 + timedelta(seconds=n), "sma")
        started = time.perf_counter()
        journal.record([Order(request, OrderStatus.INTENT)])
        journal.record([Order(request, OrderStatus.ACCEPTED)])
        out.append((time.perf_counter() - started) * 1000)
        if n % 2 == 0:  # half of them fill: one more transaction, as the fills come
            fill = Fill(request.client_order_id, "SPY", Side.BUY, 10, 100.0, 0.0, request.submitted_utc, "sma", "e1")
            journal.record_fills([fill], request.submitted_utc)
            journal.record([replace(Order(request, OrderStatus.FILLED), filled_quantity=10, avg_fill_price=100.0)])
    return out


def report(name: str, samples: list[float], floor: float | None) -> float:
    ordered = sorted(samples)
    p50, p99 = statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]
    ratio = f"  {p50 / floor:8.1f}x the in-memory twin" if floor else ""
    print(f"{name:38s} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms{ratio}")
    return p50


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        memory = report("in-memory twin", per_order_ms(MemoryOrderJournal()), None)
        report("SQLite, synchronous=NORMAL (shipped)", per_order_ms(sql_journal(root, "NORMAL")), memory)
        report("SQLite, synchronous=FULL", per_order_ms(sql_journal(root, "FULL")), memory)


if __name__ == "__main__":
    main()
