"""Read-only views of the running daemon for the control socket and the metrics endpoint.

Each view is built under the daemon's lock from the session's managers, as JSON-ready values
(times in exchange-local ISO 8601) or as a MetricsView; nothing here changes state.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mismarterad.core.market_data import format_price
from mismarterad.daemon.metrics import MetricsView, ThreadView
from mismarterad.services.trade_matching import match_trades

if TYPE_CHECKING:
    from mismarterad.config.session_config import SessionConfig
    from mismarterad.daemon.daemon import Daemon
    from mismarterad.runs.session_pipeline import SessionPipeline

__all__ = ["last_bar_age", "metrics_view", "orders_view", "positions_view", "quality_view", "status_view", "threads_view",
           "trades_view"]


def _iso(daemon: Daemon, t: datetime | None) -> str | None:
    return None if t is None else daemon.time_manager.to_market_time(t).isoformat()


def _unix(t: datetime | None) -> float:
    return 0.0 if t is None else t.timestamp()


def _session_config(daemon: Daemon) -> SessionConfig:
    """The running session's config (a reload mid-session applies from the next one)."""
    return daemon.session.config if daemon.session is not None else daemon.loaded.session


def last_bar_age(daemon: Daemon, pipeline: SessionPipeline | None, now: datetime) -> float | None:
    """Clock seconds since the newest bar ended, or since the first bar was due if none came:
    a session whose feed never delivers shows a growing age, not a reassuring zero."""
    if pipeline is None or daemon.session is None:
        return None
    newest = pipeline.engine.last_bar_end
    if newest is None:
        open_ = daemon.time_manager.get_trading_session(daemon.session.day).regular_open
        if open_ is None:
            return None
        newest = open_ + timedelta(minutes=1)
    return max(0.0, (now - newest).total_seconds())


def status_view(daemon: Daemon) -> dict[str, Any]:
    with daemon.lock:
        planned = daemon.scheduler.planned
        engine = daemon.pipeline.engine if daemon.pipeline is not None and daemon.session is not None else None
        now = daemon.app.clock.now()
        return {
            "state": daemon.system.state.value,
            "error": daemon.system.error,
            "clock": daemon.time_manager.get_current_time().isoformat(),
            "clock_kind": type(daemon.app.clock).__name__,
            "session_active": daemon.session_active,
            "session_date": daemon.session.day.isoformat() if daemon.session else None,
            "next_start": _iso(daemon, planned.start_utc) if planned else None,
            "next_stop": _iso(daemon, planned.stop_utc) if planned else None,
            "bars_processed": engine.bars_processed if engine else 0,
            "last_bar_age_seconds": last_bar_age(daemon, daemon.pipeline, now) if engine else None,
            "halted": execution.halted if (execution := daemon.current_execution()) else False,
            "session_failures": daemon.failures,
            "session_restarts": daemon.restarts,
            "watchdog_healthy": daemon.healthy,
            "uptime_seconds": round(time.monotonic() - daemon.started_monotonic, 1),
            "metrics_port": daemon.metrics_port,
            "last_report": daemon.last_report,
            "session_config": str(daemon.loaded.daemon.session_config),
        }


def threads_view(daemon: Daemon) -> list[dict[str, Any]]:
    with daemon.lock:
        if daemon.pipeline is None or daemon.session is None:
            return []
        return [{"name": t.name, "alive": t.alive,
                 "last_loop_age_seconds": None if t.last_loop_age_secs is None else round(t.last_loop_age_secs, 3),
                 "queue_depth": t.queue_depth, "items_processed": t.items_processed, **t.extra}
                for t in daemon.pipeline.thread_status()]


def positions_view(daemon: Daemon) -> list[dict[str, Any]]:
    with daemon.lock:
        execution = daemon.current_execution()
        if execution is None:
            return []
        return [{"symbol": p.symbol, "quantity": p.quantity, "avg_price": format_price(p.avg_price)}
                for p in execution.broker_positions()]


def orders_view(daemon: Daemon) -> list[dict[str, Any]]:
    with daemon.lock:
        execution = daemon.current_execution()
        if execution is None:
            return []
        orders = execution.orders()
    return [{"client_order_id": o.client_order_id, "symbol": o.request.symbol, "side": o.request.side.value,
             "quantity": o.request.quantity, "type": o.request.type.value, "limit_price": o.request.limit_price,
             "stop_price": o.request.stop_price, "status": o.status.value,
             "submitted_time": _iso(daemon, o.request.submitted_utc), "filled_time": _iso(daemon, o.filled_utc),
             "avg_fill_price": o.avg_fill_price, "reason": o.reason} for o in orders]


def trades_view(daemon: Daemon) -> list[dict[str, Any]]:
    with daemon.lock:
        execution = daemon.current_execution()
        if execution is None:
            return []
        fills = execution.fills()
    return [{"symbol": t.symbol, "entry_time": _iso(daemon, t.entry_utc), "entry_price": t.entry_price,
             "exit_time": _iso(daemon, t.exit_utc), "exit_price": t.exit_price, "quantity": t.quantity * t.direction,
             "pnl": round(t.pnl, 6)} for t in match_trades(fills)]


def quality_view(daemon: Daemon) -> list[dict[str, Any]]:
    with daemon.lock:
        if daemon.pipeline is None or daemon.session is None:
            return []
        quality = daemon.pipeline.quality
        return [{"symbol": s, "quality_pct": round(quality.latest_pct.get(s, 100.0), 4),
                 "gaps": quality.latest_gaps.get(s, 0)} for s in _session_config(daemon).session_data_config.symbols]


def metrics_view(daemon: Daemon) -> MetricsView:
    with daemon.lock:
        symbols = tuple(_session_config(daemon).session_data_config.symbols)
        now = daemon.app.clock.now()
        planned = daemon.scheduler.planned
        pipeline = daemon.pipeline if daemon.session is not None else None
        threads: tuple[ThreadView, ...] = ()
        bars: dict[tuple[str, str], int] = {}
        age = None
        quality: dict[str, float] = {}
        gaps: dict[str, int] = {}
        if pipeline is not None:
            threads = tuple(ThreadView(t.name, t.alive, t.queue_depth, t.items_processed)
                            for t in pipeline.thread_status())
            bars = dict(pipeline.engine.bars_by_series)
            age = last_bar_age(daemon, pipeline, now)
            quality = {s: pct / 100 for s, pct in pipeline.quality.latest_pct.items()}
            gaps = dict(pipeline.quality.latest_gaps)
        orders_submitted, fills_by_side = dict(daemon.totals_orders), dict(daemon.totals_fills)
        session_orders: dict[tuple[str, str], int] = {}
        positions: dict[str, int] = {}
        realized = unrealized = 0.0
        equity = 0.0
        execution = daemon.current_execution()
        if execution is not None and pipeline is not None:
            orders, fills = execution.orders(), execution.fills()
            for o in orders:
                side = o.request.side.value
                orders_submitted[side] += 1
                session_orders[(side, o.status.value)] = session_orders.get((side, o.status.value), 0) + 1
            for f in fills:
                fills_by_side[f.side.value] += 1
            realized = sum(t.pnl for t in match_trades(fills))
            account = execution.account()
            held = execution.broker_positions()
            positions = {p.symbol: p.quantity for p in held}
            unrealized = account.positions_value - sum(p.quantity * p.avg_price for p in held)
            equity = account.equity
        return MetricsView(
            state=daemon.system.state, session_active=daemon.session_active, clock_unix=_unix(now),
            next_start_unix=_unix(planned.start_utc) if planned else 0.0,
            next_stop_unix=_unix(planned.stop_utc) if planned else 0.0,
            session_failures=daemon.failures, session_restarts=daemon.restarts, threads=threads,
            bars_processed=bars, last_bar_age_secs=age, quality_ratio=quality, gaps=gaps,
            orders_submitted=orders_submitted, session_orders=session_orders, fills=fills_by_side,
            positions=positions, realized_pnl=realized, unrealized_pnl=unrealized, equity=equity,
            daily_loss_limit=daemon.loaded.daemon.daily_loss_limit, broker_connected=True, stream_reconnects=0,
            watchdog_healthy=daemon.healthy, symbols=symbols,
        )
