"""The real Prometheus helper (tests/support/prometheus_server.py) against in-process metrics
endpoints served by prometheus_client: it scrapes them, answers queries, evaluates the alert
rules, and runs every dashboard query."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, start_http_server

from support.prometheus_server import (
    PrometheusNotInstalled,
    PrometheusQueryError,
    PrometheusServer,
    dashboard_targets,
    start_server,
)

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "rules" / "mismarterad.rules.yml"
DASHBOARD = ROOT / "ops" / "grafana" / "mismarterad-dashboard.json"


@contextmanager
def metrics_endpoint(registry: CollectorRegistry) -> Iterator[str]:
    """Serve `registry` on a free local port; yields "127.0.0.1:PORT"."""
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def prometheus(target: str, **kwargs: object) -> Iterator[PrometheusServer]:
    try:
        server = start_server(target, **kwargs)  # type: ignore[arg-type]
    except PrometheusNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow  # Prometheus applies a new scrape target only after ~5 s (fixed in 2.42)
def test_scrapes_a_real_endpoint_and_answers_queries() -> None:
    registry = CollectorRegistry()
    clock = Gauge("mismarterad_clock_timestamp_seconds", "daemon clock", registry=registry)
    clock.set(1_700_000_000.5)
    with metrics_endpoint(registry) as target, prometheus(target) as server:
        result = server.wait_for("mismarterad_clock_timestamp_seconds", timeout=30)

        assert len(result) == 1
        assert result[0]["metric"] == {"__name__": "mismarterad_clock_timestamp_seconds",
                                       "job": "mismarterad", "instance": target}
        assert float(result[0]["value"][1]) == 1_700_000_000.5
        assert server.query('up{job="mismarterad"}')[0]["value"][1] == "1"
        assert server.query("1 + 1")[0]["value"][1] == "2"  # a scalar comes back as one entry
        assert server.query("mismarterad_no_such_metric") == []
        with pytest.raises(PrometheusQueryError, match="parse"):
            server.query("sum(rate(")
        root = server.root
    assert server.process.poll() is not None
    assert not root.exists()


def documented_metrics_in_a_session(registry: CollectorRegistry) -> None:
    """Every metric of docs/metrics.md, with the label sets a daemon in a healthy session
    exports (every label set present from the start, counters and histograms observed)."""
    threads = ("SessionCoordinator", "DataProcessor", "DataQualityManager", "AnalysisEngine")
    symbols = ("SPY", "AAPL")
    now = time.time()

    ProcessCollector(registry=registry)
    Gauge("mismarterad_build_info", "version", ["version"], registry=registry).labels("0.1.0").set(1)
    state = Gauge("mismarterad_system_state", "state", ["state"], registry=registry)
    for name in ("STOPPED", "STARTING", "RUNNING", "STOPPING", "ERROR"):
        state.labels(name).set(1 if name == "RUNNING" else 0)
    for name, value in (("session_active", 1), ("session_due", 1), ("previous_stop_unclean", 0),
                        ("clock_timestamp_seconds", now),
                        ("scheduler_next_start_timestamp_seconds", now + 86_400),
                        ("scheduler_next_stop_timestamp_seconds", now + 3_600), ("last_bar_age_seconds", 42),
                        ("pnl_realized_dollars", -120.5), ("pnl_unrealized_dollars", 30.25),
                        ("equity_dollars", 100_000), ("daily_loss_limit_dollars", 1_000),
                        ("broker_connected", 1), ("watchdog_healthy", 1), ("position_mismatches", 0),
                        ("halted", 0), ("reconciliation_open_mismatches", 0), ("reconciliation_halted", 0)):
        Gauge(f"mismarterad_{name}", name, registry=registry).set(value)
    for name in ("session_failures", "session_restarts", "daily_loss_halts", "stream_stalls"):
        Counter(f"mismarterad_{name}", name, registry=registry)
    reconnects = Counter("mismarterad_stream_reconnects", "reconnects", ["stream"], registry=registry)
    for stream in ("data", "trading"):
        reconnects.labels(stream)
    gaps = Counter("mismarterad_feed_gaps", "gaps", ["outcome"], registry=registry)
    for outcome in ("filled", "unfilled"):
        gaps.labels(outcome)
    alive = Gauge("mismarterad_thread_alive", "alive", ["thread"], registry=registry)
    depth = Gauge("mismarterad_thread_queue_depth", "depth", ["thread"], registry=registry)
    items = Counter("mismarterad_thread_items_processed", "items", ["thread"], registry=registry)
    loop = Histogram("mismarterad_thread_loop_duration_seconds", "loop", ["thread"], registry=registry)
    for thread in threads:
        alive.labels(thread).set(1)
        depth.labels(thread).set(0)
        items.labels(thread).inc(10)
        loop.labels(thread).observe(0.002)
    Histogram("mismarterad_bar_to_decision_seconds", "latency", registry=registry).observe(0.004)
    bars = Counter("mismarterad_bars_processed", "bars", ["symbol", "interval"], registry=registry)
    quality = Gauge("mismarterad_data_quality_ratio", "quality", ["symbol"], registry=registry)
    gaps = Gauge("mismarterad_data_gaps", "gaps", ["symbol"], registry=registry)
    positions = Gauge("mismarterad_position_shares", "shares", ["symbol"], registry=registry)
    for symbol in symbols:
        bars.labels(symbol, "1m").inc(5)
        quality.labels(symbol).set(1.0)
        gaps.labels(symbol).set(0)
        positions.labels(symbol).set(100 if symbol == "SPY" else 0)
    submitted = Counter("mismarterad_orders_submitted", "orders", ["side"], registry=registry)
    fills = Counter("mismarterad_fills", "fills", ["side"], registry=registry)
    orders = Gauge("mismarterad_session_orders", "orders", ["side", "status"], registry=registry)
    for side in ("buy", "sell"):
        submitted.labels(side)
        fills.labels(side)
        for status in ("intent", "submitted", "accepted", "partially_filled", "filled", "canceled", "rejected",
                       "expired", "refused"):
            orders.labels(side, status).set(0)
    refusals = Counter("mismarterad_risk_refusals", "refusals", ["check"], registry=registry)
    for check in ("halted", "max_open_orders", "buying_power"):
        refusals.labels(check)
    mismatches = Counter("mismarterad_reconciliation_mismatches", "mismatches", ["kind"], registry=registry)
    for kind in ("unknown_order", "missing_order", "position"):
        mismatches.labels(kind)
    errors = Counter("mismarterad_errors", "errors", ["component"], registry=registry)
    for component in ("daemon", "scheduler", *threads):
        errors.labels(component)
    tokens = Counter("mismarterad_claude_tokens", "tokens", ["direction", "purpose"], registry=registry)
    for direction in ("input", "output"):
        for purpose in ("review", "ask"):
            tokens.labels(direction, purpose)
    Counter("mismarterad_claude_cost_usd", "cost", registry=registry)
    reviews = Counter("mismarterad_claude_reviews", "reviews", ["result"], registry=registry)
    for result in ("written", "skipped"):
        reviews.labels(result)
    # broker = schwab only: a login a day old, far from the 5-day warning
    Gauge("mismarterad_schwab_token_age_seconds", "token age", registry=registry).set(86_400)


@pytest.mark.slow
def test_rules_and_dashboard_queries_on_a_healthy_session() -> None:
    """With every documented metric present and healthy: each alert rule evaluates without
    error and stays silent, and each dashboard query is valid PromQL that returns data."""
    registry = CollectorRegistry()
    documented_metrics_in_a_session(registry)
    with metrics_endpoint(registry) as target, prometheus(target, rule_files=[RULES]) as server:
        # rate() and increase() need two samples in their window; wait for a few scrapes
        server.wait_for('count_over_time(up{job="mismarterad"}[1m]) >= 4', timeout=60)
        deadline = time.monotonic() + 30
        while any(rule["health"] == "unknown" for rule in server.rules()):  # not evaluated yet
            assert time.monotonic() < deadline, server.rules()
            time.sleep(0.2)

        rules = server.rules()
        assert len(rules) >= 9
        for rule in rules:
            assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
        assert server.alerts() == []

        empty = [str(t) for t in dashboard_targets(DASHBOARD) if not server.query(t.expr)]
        assert not empty, "dashboard queries without data:\n" + "\n".join(empty)
