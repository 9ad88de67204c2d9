"""Orders and fills are stored per run, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mismarterad.core.orders import Fill, Order, OrderRequest, OrderStatus, OrderType, Side
from mismarterad.repositories.order_repository import OrderRepository
from mismarterad.repositories.run_repository import RunRepository

T0 = datetime(2011, 1, 3, 14, 31, tzinfo=UTC)


def test_the_same_backtest_twice_in_one_database(db_sessions) -> None:  # type: ignore[no-untyped-def]
    runs, orders = RunRepository(db_sessions), OrderRepository(db_sessions)
    request = OrderRequest("o000001", "SPY", Side.BUY, 100, OrderType.LIMIT, 10.25, None, T0, "sma_cross#0")
    new = Order(request, OrderStatus.NEW)
    filled = replace(new, status=OrderStatus.FILLED, filled_quantity=100, avg_fill_price=10.2,
                     filled_utc=T0 + timedelta(minutes=1))
    fill = Fill("o000001", "SPY", Side.BUY, 100, 10.2, 0.5, T0 + timedelta(minutes=1), "sma_cross#0")
    ids = []
    for _ in range(2):
        run_id = runs.start("backtest", "SPY test", "0" * 64, T0)
        orders.save_orders(run_id, [new])
        orders.save_orders(run_id, [filled])  # an update, not a second row
        orders.save_fills(run_id, [fill], 1)
        runs.finish(run_id, "completed", T0 + timedelta(hours=1))
        ids.append(run_id)
    assert ids[0] != ids[1]
    for run_id in ids:
        assert orders.orders(run_id) == [filled]
        assert orders.fills(run_id) == [fill]  # the strategy comes back from the fill's order
        assert orders.strategy_positions(run_id) == {("sma_cross#0", "SPY"): 100}
        assert orders.fills(run_id)[0].ts_utc.tzinfo is not None


def test_positions_are_upserted_per_run_and_closed_ones_read_zero(db_sessions) -> None:  # type: ignore[no-untyped-def]
    from mismarterad.core.orders import Position

    runs, repo = RunRepository(db_sessions), OrderRepository(db_sessions)
    run_id = runs.start("live", "SPY test", "0" * 64, T0)
    repo.save_positions(run_id, [Position("SPY", 100, 127.5), Position("QQQ", -10, 50.25)], ["SPY"], T0)
    assert repo.positions(run_id) == [Position("QQQ", -10, 50.25), Position("SPY", 100, 127.5)]
    repo.save_positions(run_id, [], ["SPY", "QQQ"], T0 + timedelta(minutes=5))  # both closed
    assert repo.positions(run_id) == [Position("QQQ", 0, 0.0), Position("SPY", 0, 0.0)]
    assert repo.positions(runs.start("live", "other", "0" * 64, T0)) == []


def test_refused_orders_keep_their_check_and_live_fills_are_read_per_run(db_sessions) -> None:  # type: ignore[no-untyped-def]
    runs, orders = RunRepository(db_sessions), OrderRepository(db_sessions)
    request = OrderRequest("o000002", "SPY", Side.BUY, 10, OrderType.MARKET, None, None, T0, "runaway#0")
    refused = Order(request, OrderStatus.REFUSED, reason="max_shares_per_symbol", detail="SPY would reach 510")
    live = runs.start("live", "SPY", "0" * 64, T0)
    backtest = runs.start("backtest", "SPY", "0" * 64, T0)
    orders.save_orders(live, [refused])
    assert [(o.status, o.reason) for o in orders.orders(live)] == [(OrderStatus.REFUSED, "max_shares_per_symbol")]
    fill = Fill("o000001", "SPY", Side.BUY, 10, 100.0, 0.0, T0 + timedelta(minutes=1))
    orders.save_fills(live, [fill, replace(fill, client_order_id="o000003", side=Side.SELL,
                                           ts_utc=T0 + timedelta(minutes=5))], 1)
    orders.save_fills(backtest, [fill], 1)
    read = orders.live_fill_records(T0, T0 + timedelta(minutes=5))  # the end is excluded
    assert [[f.client_order_id for f in record] for record in read] == [["o000001"]], "one pre-journal run"
    assert orders.live_fill_records(T0 + timedelta(days=1), T0 + timedelta(days=2)) == []


def test_journaled_fills_of_every_run_are_one_record(db_sessions) -> None:  # type: ignore[no-untyped-def]
    from mismarterad.repositories.order_journal import SqlOrderJournal

    runs, orders = RunRepository(db_sessions), OrderRepository(db_sessions)
    fill = Fill("d-o1", "SPY", Side.BUY, 10, 100.0, 0.0, T0 + timedelta(minutes=1), execution_id="e1")
    for n, run in enumerate((runs.start("live", "SPY", "0" * 64, T0), runs.start("live", "SPY", "0" * 64, T0))):
        SqlOrderJournal(db_sessions, "alpaca-paper", run).record_fills(
            [replace(fill, client_order_id=f"d-o{n}"), fill], T0)  # the second run books e1 no more
    [record] = orders.live_fill_records(T0, T0 + timedelta(minutes=5))
    assert sorted((f.client_order_id, f.execution_id) for f in record) == [("d-o0", "e1"), ("d-o1", "e1")]
