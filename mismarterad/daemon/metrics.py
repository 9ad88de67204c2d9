"""Prometheus metrics of the daemon (names and meaning: docs/metrics.md).

Gauges and totals are read from the daemon at scrape time through `MetricsView` (one snapshot
per scrape, no bookkeeping on the trading path); the two histograms are observed by the
threads as they work (the loop histogram by all four, the SessionCoordinator's through the
callback it is built with). Label values are bounded: thread names, configured symbols,
intervals, sides, statuses, components and reconciliation kinds. No `_created` series are
exported: they double every histogram and counter and no query here needs them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mismarterad import __version__
from mismarterad.core.enums import SystemState
from mismarterad.core.orders import OrderStatus
from mismarterad.core.reconciliation import MismatchKind
from mismarterad.core.risk import RiskCheck
from mismarterad.core.venue_status import STREAMS, VenueStatus

__all__ = ["DaemonMetrics", "MetricsView"]

THREADS = ("SessionCoordinator", "DataProcessor", "DataQualityManager", "AnalysisEngine")
SIDES = ("buy", "sell")
STATUSES = tuple(dict.fromkeys(status.value for status in OrderStatus))  # NEW is an alias of ACCEPTED
CHECKS = tuple(check.value for check in RiskCheck)
MISMATCH_KINDS = tuple(kind.value for kind in MismatchKind)
COMPONENTS = ("daemon", "scheduler", "control_socket", "live_session", "system_manager", "SessionCoordinator",
              "DataProcessor", "DataQualityManager", "AnalysisEngine", "data_manager", "execution_manager")


@dataclass(frozen=True)
class ThreadView:
    name: str
    alive: bool
    queue_depth: int
    items_processed: int


@dataclass(frozen=True)
class MetricsView:
    """Everything the gauges and totals show, read at once under the daemon's lock."""

    state: SystemState
    session_active: bool
    clock_unix: float
    next_start_unix: float
    next_stop_unix: float
    session_failures: int
    session_restarts: int
    threads: tuple[ThreadView, ...]
    bars_processed: dict[tuple[str, str], int]
    last_bar_age_secs: float | None
    quality_ratio: dict[str, float]
    gaps: dict[str, int]
    orders_submitted: dict[str, int]
    session_orders: dict[tuple[str, str], int]
    fills: dict[str, int]
    positions: dict[str, int]
    realized_pnl: float
    unrealized_pnl: float
    equity: float
    daily_loss_limit: float
    broker_connected: bool
    venue: VenueStatus
    watchdog_healthy: bool
    position_mismatches: int = 0
    symbols: tuple[str, ...] = field(default=())
    halted: bool = False  # the operator's halt (kill switch)
    risk_refusals: dict[str, int] = field(default_factory=dict)  # by RiskCheck value, process lifetime
    daily_loss_halts: int = 0  # process lifetime
    # differences with the broker by MismatchKind value: finished day-runs plus the running one
    reconciliation_mismatches: dict[str, int] = field(default_factory=dict)
    reconciliation_open: int = 0  # differences the running day-run's newest check found, not acknowledged
    reconciliation_halted: bool = False  # a reconciliation halt holds (until `resume` or the next session)
    session_due: bool = False  # the planned window is open by the daemon's clock: a session should be running


class _ViewCollector(Collector):
    def __init__(self, view: Callable[[], MetricsView]) -> None:
        self._view = view

    def collect(self) -> Iterable[Metric]:
        v = self._view()
        yield _gauge("build_info", "running version", {"version": __version__}, 1)
        state = GaugeMetricFamily("mismarterad_system_state", "SystemManager state (1 = current)", labels=["state"])
        for s in SystemState:
            state.add_metric([s.value], 1.0 if s is v.state else 0.0)
        yield state
        yield _gauge("session_active", "1 inside a session window", {}, float(v.session_active))
        yield _gauge("session_due", "1 while the planned session window is open (a session should run)", {},
                     float(v.session_due))
        yield _gauge("clock_timestamp_seconds", "the daemon clock (UNIX seconds)", {}, v.clock_unix)
        yield _gauge("scheduler_next_start_timestamp_seconds", "next planned session start", {}, v.next_start_unix)
        yield _gauge("scheduler_next_stop_timestamp_seconds", "next planned session stop", {}, v.next_stop_unix)
        yield _counter("session_failures", "session runs that ended in ERROR", {(): v.session_failures}, [])
        yield _counter("session_restarts", "restarts of a failed session", {(): v.session_restarts}, [])
        by_thread = {t.name: t for t in v.threads}
        alive = GaugeMetricFamily("mismarterad_thread_alive", "thread running", labels=["thread"])
        depth = GaugeMetricFamily("mismarterad_thread_queue_depth", "items waiting in the inbox", labels=["thread"])
        items = CounterMetricFamily("mismarterad_thread_items_processed", "items handled", labels=["thread"])
        for name in THREADS:
            t = by_thread.get(name)
            alive.add_metric([name], float(t.alive) if t else 0.0)
            depth.add_metric([name], float(t.queue_depth) if t else 0.0)
            items.add_metric([name], float(t.items_processed) if t else 0.0)
        yield from (alive, depth, items)
        bars = CounterMetricFamily("mismarterad_bars_processed", "bars handed to strategies", labels=["symbol", "interval"])
        for (symbol, interval), n in sorted({**{(s, "1m"): 0 for s in v.symbols}, **v.bars_processed}.items()):
            bars.add_metric([symbol, interval], float(n))
        yield bars
        yield _gauge("last_bar_age_seconds", "clock seconds since the newest bar's end", {},
                     v.last_bar_age_secs if v.last_bar_age_secs is not None else 0.0)
        quality = GaugeMetricFamily("mismarterad_data_quality_ratio", "present / due bars", labels=["symbol"])
        gaps = GaugeMetricFamily("mismarterad_data_gaps", "missing-bar runs this session", labels=["symbol"])
        positions = GaugeMetricFamily("mismarterad_position_shares", "signed position", labels=["symbol"])
        for symbol in v.symbols:
            quality.add_metric([symbol], v.quality_ratio.get(symbol, 1.0))
            gaps.add_metric([symbol], float(v.gaps.get(symbol, 0)))
            positions.add_metric([symbol], float(v.positions.get(symbol, 0)))
        yield from (quality, gaps, positions)
        yield _counter("orders_submitted", "orders sent to the broker", {(s,): v.orders_submitted.get(s, 0)
                                                                          for s in SIDES}, ["side"])
        orders = GaugeMetricFamily("mismarterad_session_orders", "orders of the session by status",
                                   labels=["side", "status"])
        for side in SIDES:
            for status in STATUSES:
                orders.add_metric([side, status], float(v.session_orders.get((side, status), 0)))
        yield orders
        yield _counter("fills", "fills received", {(s,): v.fills.get(s, 0) for s in SIDES}, ["side"])
        yield _gauge("pnl_realized_dollars", "realized P&L of the session", {}, v.realized_pnl)
        yield _gauge("pnl_unrealized_dollars", "unrealized P&L of open positions", {}, v.unrealized_pnl)
        yield _gauge("equity_dollars", "account equity", {}, v.equity)
        yield _gauge("daily_loss_limit_dollars", "configured daily loss limit (0 = none)", {}, v.daily_loss_limit)
        yield _gauge("broker_connected", "broker reachable", {}, float(v.broker_connected))
        yield _counter("stream_reconnects", "broker stream reconnects: data (bars) and trading (order updates)",
                       {(s,): v.venue.reconnects(s) for s in STREAMS}, ["stream"])
        yield _counter("stream_stalls", "data streams silent during the session while open, forced to reconnect",
                       {(): v.venue.stalls}, [])
        yield _counter("feed_gaps", "missing minutes of the live feed, by whether REST filled them",
                       {("filled",): v.venue.gaps_filled, ("unfilled",): v.venue.gaps_unfilled}, ["outcome"])
        if v.venue.token_age_secs is not None:  # broker = schwab: its refresh token lasts 7 days from the login
            yield _gauge("schwab_token_age_seconds", "wall-clock seconds since the Schwab login that made the refresh "
                         "token (renew before 7 days: mismarterad auth schwab)", {}, v.venue.token_age_secs)
        yield _gauge("watchdog_healthy", "main loop and session threads make progress", {}, float(v.watchdog_healthy))
        yield _gauge("halted", "1 while the operator's halt (mismarterctl halt) is in force", {}, float(v.halted))
        yield _counter("risk_refusals", "orders refused by a pre-trade risk check", {
            (check,): v.risk_refusals.get(check, 0) for check in CHECKS}, ["check"])
        yield _counter("daily_loss_halts", "sessions halted by the daily loss limit", {(): v.daily_loss_halts}, [])
        yield _gauge("position_mismatches", "symbols whose strategies' positions do not add up to the broker's", {},
                     float(v.position_mismatches))
        yield _counter("reconciliation_mismatches", "differences with the broker found by reconciliation", {
            (kind,): v.reconciliation_mismatches.get(kind, 0) for kind in MISMATCH_KINDS}, ["kind"])
        yield _gauge("reconciliation_open_mismatches", "differences of the newest reconciliation, not acknowledged",
                     {}, float(v.reconciliation_open))
        yield _gauge("reconciliation_halted", "1 while a reconciliation difference halts trading", {},
                     float(v.reconciliation_halted))


def _gauge(name: str, doc: str, labels: dict[str, str], value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"mismarterad_{name}", doc, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


def _counter(name: str, doc: str, values: dict[tuple[str, ...], int], labels: list[str]) -> CounterMetricFamily:
    family = CounterMetricFamily(f"mismarterad_{name}", doc, labels=labels)
    for key, value in values.items():
        family.add_metric(list(key), float(value))
    return family


class DaemonMetrics:
    """The registry, the observed histograms and the error counter, and the HTTP endpoint."""

    def __init__(self, view: Callable[[], MetricsView], previous_stop_unclean: bool = False) -> None:
        """`previous_stop_unclean`: the daemon before this process died instead of stopping
        (daemon/state_lock.py), which the watchdog-restart alert tells from a deploy."""
        disable_created_metrics()  # process-wide in prometheus-client; this process serves only these
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.registry.register(_ViewCollector(view))
        self.loop_duration = Histogram("mismarterad_thread_loop_duration_seconds", "time to handle one queue item",
                                       ["thread"], registry=self.registry,
                                       buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5))
        self.decision_latency = Histogram("mismarterad_bar_to_decision_seconds",
                                          "real time from a bar's release to the strategies' decision",
                                          registry=self.registry,
                                          buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
        self.errors = Counter("mismarterad_errors", "errors logged, by component", ["component"],
                              registry=self.registry)
        self.claude_tokens = Counter("mismarterad_claude_tokens", "language-model tokens, by direction and purpose",
                                     ["direction", "purpose"], registry=self.registry)
        self.claude_cost = Counter("mismarterad_claude_cost_usd", "language-model cost in USD, from the price table",
                                   registry=self.registry)
        self.claude_reviews = Counter("mismarterad_claude_reviews", "session reviews, by result (written, skipped)",
                                      ["result"], registry=self.registry)
        for direction, purpose in itertools.product(("input", "output"), ("review", "ask")):
            self.claude_tokens.labels(direction, purpose)
        for result in ("written", "skipped"):
            self.claude_reviews.labels(result)
        Gauge("mismarterad_previous_stop_unclean", "1 if the previous daemon of this state directory died "
              "(watchdog, kill, crash) instead of stopping", registry=self.registry).set(float(previous_stop_unclean))
        for name in THREADS:
            self.loop_duration.labels(name)
        for component in COMPONENTS:
            self.errors.labels(component)
        self._server: WSGIServer | None = None

    def observe_loop(self, thread: str, seconds: float) -> None:
        self.loop_duration.labels(thread).observe(seconds)

    def count_claude_call(self, purpose: str, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        purpose = purpose if purpose in ("review", "ask") else "ask"
        self.claude_tokens.labels("input", purpose).inc(input_tokens)
        self.claude_tokens.labels("output", purpose).inc(output_tokens)
        self.claude_cost.inc(cost_usd)

    def count_claude_review(self, result: str) -> None:
        self.claude_reviews.labels(result).inc()

    def count_error(self, component: str) -> None:
        self.errors.labels(component if component in COMPONENTS else "daemon").inc()

    def serve(self, host: str, port: int) -> int:
        """Listen on host:port (0: any free port); return the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return int(server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
