"""The Alpaca adapter's latencies, measured against the shipped emulator over its real protocols.

Run: .venv/bin/python bench/bench_alpaca.py

* order round trip: `AlpacaBroker.submit` of a resting limit order (journal-free today: one
  POST /v2/orders, its lookup path unused), p50/p99 of 300, against alpaca-py's bare
  `TradingClient.submit_order` of the same orders in the same run (the SDK's own cost is the floor);
* dropped stream to the first bar after it: `drop_stream` (data) while `AlpacaBarFeed` follows a
  replay at 600x, real seconds from the fault to the next bar delivered (gap-filled minutes
  included), 10 drops, against alpaca-py's `StockDataStream` with its own reconnect in the same run;
* bar-to-order in a replayed day: the daemon and the emulator at 600x, each POST /v2/orders of the
  emulator's request log minus the end of the bar it followed (the emulator streams every bar at
  its minute's end), in the emulator's market time divided by the speed; plus the daemon's own
  bar-to-decision histogram (release to strategies done, which includes the order's POST).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the tests' process helpers: the same emulator and daemon start-up

from alpaca.data.live import StockDataStream  # noqa: E402
from alpaca.trading.enums import OrderSide, TimeInForce  # noqa: E402
from alpaca.trading.requests import LimitOrderRequest  # noqa: E402
from support.alpaca_day import alpaca_session_config, import_emulator_store, start_alpaca_day  # noqa: E402
from support.alpaca_emulator import KEY_ID, SECRET, run_stream, start_emulator, stop_stream  # noqa: E402

from mismarterad.cli.logging import configure_logging  # noqa: E402
from mismarterad.core.clock import ReplayClock  # noqa: E402
from mismarterad.core.orders import OrderRequest, OrderType, Side  # noqa: E402
from mismarterad.integrations.alpaca import (  # noqa: E402
    AlpacaBarFeed,
    AlpacaBroker,
    AlpacaCredentials,
    AlpacaEndpoints,
    AlpacaSource,
)

ORDERS = 300
DROPS = 10
SPEED = 600.0


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def show(name: str, values: list[float]) -> None:
    print(f"  {name}: p50 {1e3 * pct(values, 50):.2f} ms, p99 {1e3 * pct(values, 99):.2f} ms (n={len(values)})")


def order_round_trip(root: Path, data: Path) -> None:
    emulator = start_emulator(data, root / "orders-state", clock_start="2011-01-04T10:00:00-05:00", speed=1)
    try:
        credentials = AlpacaCredentials(KEY_ID, SECRET)
        endpoints = AlpacaEndpoints.derive(emulator.base_url, True, "iex")
        clock = ReplayClock(datetime(2011, 1, 4, 15, tzinfo=UTC), 1.0)
        broker = AlpacaBroker(credentials, endpoints, clock)
        broker.verify()
        broker.start()
        ours, bare = [], []
        client = emulator_client(emulator)
        for i in range(ORDERS):  # interleaved: the emulator's account file grows with every order
            request = OrderRequest(f"bench-{i:05d}", "SPY", Side.BUY, 1, OrderType.LIMIT, 1.0, None, clock.now())
            t0 = time.perf_counter()
            broker.submit(request)
            ours.append(time.perf_counter() - t0)
            body = LimitOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                     limit_price=1.0, client_order_id=f"bare-{i:05d}")
            t0 = time.perf_counter()
            client.submit_order(body)
            bare.append(time.perf_counter() - t0)
        broker.close()
        print("order round trip through the emulator (a resting limit order, POST /v2/orders):")
        show("AlpacaBroker.submit", ours)
        show("alpaca-py TradingClient.submit_order", bare)
        print(f"  ratio of p50s: {pct(ours, 50) / pct(bare, 50):.2f}x")
    finally:
        emulator.stop()


def emulator_client(emulator):  # type: ignore[no-untyped-def]
    from alpaca.trading.client import TradingClient
    client = TradingClient(KEY_ID, SECRET, url_override=emulator.base_url)
    client._retry = 0
    return client


def drop_to_first_bar(root: Path, data: Path) -> None:
    emulator = start_emulator(data, root / "drops-state", clock_start="2011-01-04T10:00:00-05:00", speed=SPEED)
    try:
        credentials = AlpacaCredentials(KEY_ID, SECRET)
        endpoints = AlpacaEndpoints.derive(emulator.base_url, True, "iex")
        clock = ReplayClock(emulator_now(emulator), SPEED)
        source = AlpacaSource(credentials, endpoints, clock=clock)
        arrived = threading.Event()
        seen: list[datetime] = []

        def on_bar(bar) -> None:  # type: ignore[no-untyped-def]
            seen.append(bar.start_utc)
            arrived.set()

        feed = AlpacaBarFeed(credentials, endpoints, clock, source, gap_retry_interval_secs=1.0)
        subscription = feed.subscribe(["SPY"], on_bar)
        ours = measure_drops(emulator, arrived)
        subscription.stop()
        holes = [b - a for a, b in zip(seen, seen[1:], strict=False) if b - a != timedelta(minutes=1)]
        stream = StockDataStream(KEY_ID, SECRET, url_override=emulator.data_stream_url)
        sdk_arrived = threading.Event()

        async def sdk_bar(_bar) -> None:  # type: ignore[no-untyped-def]
            sdk_arrived.set()

        stream.subscribe_bars(sdk_bar, "SPY")
        thread = run_stream(stream)
        sdk = measure_drops(emulator, sdk_arrived)
        stop_stream(stream, thread)
        print(f"dropped data stream to the first bar after it (replay at {SPEED:g}x, a bar every "
              f"{60 / SPEED:.2f} s of real time):")
        show("AlpacaBarFeed (our reconnect, gaps filled from REST)", ours)
        show("alpaca-py StockDataStream (its own reconnect)", sdk)
        print(f"  ratio of p50s: {pct(ours, 50) / pct(sdk, 50):.2f}x; feed bars out of step after all drops: "
              f"{len(holes)} (the stream feed delivers every minute, gap-filled)")
    finally:
        emulator.stop()


def measure_drops(emulator, arrived: threading.Event) -> list[float]:  # type: ignore[no-untyped-def]
    assert arrived.wait(10), "no bar before the first drop"
    out = []
    for _ in range(DROPS):
        time.sleep(0.35)
        arrived.clear()
        t0 = time.perf_counter()
        emulator.fault("drop_stream", stream="data")
        assert arrived.wait(30), "no bar after a drop"
        out.append(time.perf_counter() - t0)
    return out


def emulator_now(emulator) -> datetime:  # type: ignore[no-untyped-def]
    return emulator_client(emulator).get_clock().timestamp.astimezone(UTC)


def bar_to_order(root: Path, data: Path) -> None:
    config = alpaca_session_config(root / "session")
    day = start_alpaca_day(root / "day", data, config, day="2011-01-04", start=dt_time(9, 20), speed=SPEED)
    try:
        day.daemon.start()
        day.daemon.wait_ready()
        day.daemon.wait_for(lambda s: s["state"] == "STOPPED" and s["last_report"] is not None, 180, "the day")
        posts = [datetime.fromisoformat(r["time"]) for r in day.venue_requests()
                 if r["method"] == "POST" and r["path"] == "/v2/orders"]
        lags = [(t - t.replace(second=0, microsecond=0)).total_seconds() / SPEED for t in posts]
        text = day.daemon.metrics()
    finally:
        day.daemon.kill()
        day.emulator.stop()
    from bench_daemon import histogram_quantile
    print(f"bar-to-order in a replayed day at {SPEED:g}x ({len(lags)} orders; the bar's end at the emulator "
          "to the POST's arrival there):")
    print(f"  median {1e3 * statistics.median(lags):.1f} ms, p99 (the largest of {len(lags)}) {1e3 * max(lags):.1f} ms")
    print(f"  daemon bar-to-decision histogram: p50 "
          f"{1e3 * histogram_quantile(text, 'mismarterad_bar_to_decision_seconds', 0.5):.2f} ms, p99 "
          f"{1e3 * histogram_quantile(text, 'mismarterad_bar_to_decision_seconds', 0.99):.2f} ms")


def main() -> None:
    configure_logging("console", "error")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = import_emulator_store(root / "emulator-data")
        order_round_trip(root, data)
        drop_to_first_bar(root, data)
        bar_to_order(root, data)


if __name__ == "__main__":
    main()
