"""Read-only views of the daemon for the control socket, the metrics endpoint and sd_notify.

Every view is a pure function of one `DaemonSnapshot` (times in exchange-local ISO 8601, or
a MetricsView), so a view can never see half of a change, never takes a lock, and is tested
without a running daemon.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, tzinfo
from typing import Any

from mismarterad.config.risk_config import effective_limits
from mismarterad.core.halt import HaltState
from mismarterad.core.market_data import format_price
from mismarterad.core.orders import OrderStatus
from mismarterad.core.read_model import PipelineSnapshot, TradingSnapshot
from mismarterad.core.reconciliation import MismatchKind, ReconciliationStatus
from mismarterad.core.risk import LossHalt, RiskCheck
from mismarterad.core.venue_status import STREAMS, VenueStatus
from mismarterad.daemon.control import DaemonSnapshot
from mismarterad.daemon.metrics import MetricsView, ThreadView
from mismarterad.services.strategy_pnl import DayPnl, StrategyPnl, day_pnl
from mismarterad.services.trade_matching import match_trades
from mismarterad.strategies.spec import strategy_id

__all__ = [
    "account_record",
    "halt_record",
    "last_bar_age",
    "loss_halt_record",
    "metrics_view",
    "orders_view",
    "pnl_view",
    "positions_view",
    "reconciliation_record",
    "quality_view",
    "session_view",
    "status_line",
    "status_view",
    "threads_view",
    "trades_view",
]


def _iso(s: DaemonSnapshot, t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(s.timezone).isoformat()


def _unix(t: datetime | None) -> float:
    return 0.0 if t is None else t.timestamp()


def halt_record(state: HaltState | None, tz: tzinfo) -> dict[str, Any] | None:
    """The operator's halt as status shows it (since in market time), or None."""
    if state is None:
        return None
    return {"since": state.since_utc.astimezone(tz).isoformat(), "by": state.by, "reason": state.reason,
            "flatten": state.flatten}


def loss_halt_record(halt: LossHalt | None, tz: tzinfo) -> dict[str, Any] | None:
    """The running session's daily-loss halt, or None."""
    if halt is None:
        return None
    return {"time": halt.ts_utc.astimezone(tz).isoformat(), "start_equity": halt.start_equity,
            "equity": halt.equity, "limit": halt.limit}


def _pipeline(s: DaemonSnapshot) -> PipelineSnapshot | None:
    return s.day_run.pipeline if s.day_run is not None else None


def last_bar_age(s: DaemonSnapshot) -> float | None:
    """Clock seconds since the newest bar ended, or since the first bar was due if none came:
    a session whose feed never delivers shows a growing age, not a reassuring zero."""
    pipeline = _pipeline(s)
    if pipeline is None or s.day_run is None:
        return None
    newest = pipeline.trading.last_bar_end_utc
    if newest is None:
        if s.day_run.regular_open_utc is None:
            return None
        newest = s.day_run.regular_open_utc + timedelta(minutes=1)
    return max(0.0, (s.clock_utc - newest).total_seconds())


def status_view(s: DaemonSnapshot) -> dict[str, Any]:
    pipeline = _pipeline(s)
    return {
        "state": s.state.value,
        "error": s.error or s.start_error,
        "clock": _iso(s, s.clock_utc),
        "clock_kind": s.clock_kind,
        "session_active": s.session_active,
        "session_date": s.day_run.day.isoformat() if s.day_run else None,
        "next_start": _iso(s, s.next_start_utc) if s.next_start_utc else None,
        "next_stop": _iso(s, s.planned.stop_utc) if s.planned else None,
        "bars_processed": pipeline.trading.bars_processed if pipeline else 0,
        "last_bar_age_seconds": last_bar_age(s) if pipeline else None,
        "halted": halt_record(s.halted, s.timezone),
        "loss_halt": loss_halt_record(pipeline.trading.loss_halt, s.timezone) if pipeline else None,
        "open_orders": len(pipeline.trading.open_orders) if pipeline else 0,
        "position_mismatches": len(pipeline.trading.position_mismatches) if pipeline else 0,
        "reconciliation": reconciliation_record(s),
        "disabled_strategies": list(pipeline.trading.disabled_strategies) if pipeline else [],
        "session_failures": s.session_failures,
        "session_restarts": s.session_restarts,
        "watchdog_healthy": s.watchdog_healthy,
        "uptime_seconds": round(s.uptime_secs, 1),
        "metrics_port": s.metrics_port,
        "last_report": s.last_report,
        "session_config": str(s.daemon_config.session_config),
        "broker": broker_record(s.venue),
        "account": account_record(s),
    }


def account_record(s: DaemonSnapshot) -> dict[str, Any] | None:
    """The account's cash and equity: the broker's, as the running day-run last saw it, else the
    paper account as stored (positions at their average cost); None for a real account between
    sessions (the daemon does not ask the broker then)."""
    pipeline = _pipeline(s)
    if pipeline is not None and pipeline.trading.account is not None:
        account = pipeline.trading.account
        return {"cash": account.cash, "equity": account.equity, "positions_value": account.positions_value}
    if s.paper_account is not None:
        paper = s.paper_account
        return {"cash": paper.cash, "equity": paper.equity, "positions_value": paper.positions_value}
    return None


def _reconciliation(s: DaemonSnapshot) -> ReconciliationStatus | None:
    pipeline = _pipeline(s)
    return pipeline.trading.reconciliation if pipeline is not None else None


def _mismatch_counts(s: DaemonSnapshot) -> tuple[dict[str, int], dict[str, int]]:
    """Differences found by kind: (the running day-run's, the daemon's lifetime = earlier + running)."""
    status = _reconciliation(s)
    running = dict.fromkeys((kind.value for kind in MismatchKind), 0)
    running.update(status.counts if status is not None else ())
    before = s.reconciliation_before
    return running, {kind: running.get(kind, 0) + before.get(kind, 0) for kind in {**running, **before}}


def reconciliation_record(s: DaemonSnapshot) -> dict[str, Any]:
    """The reconciliations with the broker as status shows them. Outside a reconciled day-run
    (between sessions, a paper account) checks are 0 and nothing is open, but the counts of
    earlier day-runs stay, so a difference found this morning is still seen in the evening."""
    status = _reconciliation(s)
    running, lifetime = _mismatch_counts(s)
    policy = status.policy.value if status is not None else s.daemon_config.reconcile_policy
    return {
        "policy": str(policy),
        "checks": status.checks if status is not None else 0,
        "last_check": _iso(s, status.last_utc) if status is not None else None,
        "counts": lifetime,
        "day_run_counts": running,
        "open": [{"kind": m.kind.value, "symbol": m.symbol, "client_order_id": m.client_order_id,
                  "ours": m.ours, "broker": m.broker, "detail": m.detail}
                 for m in (status.open if status is not None else ())],
        "halted": status.halted if status is not None else None,
    }


def broker_record(venue: VenueStatus) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": venue.broker, "connected": venue.connected,
        "reconnects": {stream: venue.reconnects(stream) for stream in STREAMS}, "stalls": venue.stalls,
        "gaps_filled": venue.gaps_filled, "gaps_unfilled": venue.gaps_unfilled}
    if venue.token_age_secs is not None:
        record["token_age_days"] = round(venue.token_age_secs / 86_400, 2)
    return record


def status_line(s: DaemonSnapshot) -> str:
    """The one-line systemd STATUS."""
    day = s.day_run.day.isoformat() if s.day_run else "-"
    age = last_bar_age(s)
    shown = "" if age is None else f" last_bar_age={age:.0f}s"
    pipeline = _pipeline(s)
    halted = " HALTED" if s.halted is not None else ""
    if pipeline is not None and pipeline.trading.loss_halt is not None:
        halted += " LOSS-HALTED"
    reconciliation = _reconciliation(s)
    if reconciliation is not None and reconciliation.halted is not None:
        halted += " RECONCILE-HALTED"
    return (f"{s.state.value}{halted} session={day} "
            f"clock={s.clock_utc.astimezone(s.timezone):%Y-%m-%d %H:%M}{shown}")


def threads_view(s: DaemonSnapshot, now_monotonic: float | None = None) -> list[dict[str, Any]]:
    pipeline = _pipeline(s)
    if pipeline is None:
        return []
    now = time.monotonic() if now_monotonic is None else now_monotonic
    rows = []
    for t in pipeline.threads:
        silent = t.silent_secs(now)
        rows.append({"name": t.name, "alive": t.alive,
                     "last_loop_age_seconds": None if silent is None else round(silent, 3),
                     "queue_depth": t.queue_depth, "items_processed": t.items_processed, **dict(t.extra)})
    return rows


def positions_view(s: DaemonSnapshot) -> list[dict[str, Any]]:
    """The broker's net position per symbol, with each strategy's share of it; between sessions
    the paper account's stored positions (no strategy holds them then)."""
    pipeline = _pipeline(s)
    if pipeline is None:
        held = s.paper_account.positions if s.paper_account is not None else ()
        return [{"symbol": p.symbol, "quantity": p.quantity, "avg_price": format_price(p.avg_price), "strategies": ""}
                for p in held]
    trading = pipeline.trading
    rows = []
    for p in trading.broker_positions:
        owners = [f"{sp.strategy}={sp.quantity}" for sp in trading.strategy_positions if sp.symbol == p.symbol]
        rows.append({"symbol": p.symbol, "quantity": p.quantity, "avg_price": format_price(p.avg_price),
                     "strategies": " ".join(owners)})
    return rows


def orders_view(s: DaemonSnapshot) -> list[dict[str, Any]]:
    pipeline = _pipeline(s)
    if pipeline is None:
        return []
    return [{"client_order_id": o.client_order_id, "strategy": o.request.strategy, "symbol": o.request.symbol,
             "side": o.request.side.value, "quantity": o.request.quantity, "type": o.request.type.value,
             "limit_price": o.request.limit_price, "stop_price": o.request.stop_price, "status": o.status.value,
             "submitted_time": _iso(s, o.request.submitted_utc), "filled_time": _iso(s, o.filled_utc),
             "avg_fill_price": o.avg_fill_price, "reason": o.reason,
             "reject_category": o.reject_category.value if o.reject_category else None}
            for o in pipeline.trading.orders]


def trades_view(s: DaemonSnapshot) -> list[dict[str, Any]]:
    pipeline = _pipeline(s)
    if pipeline is None:
        return []
    return [{"strategy": t.strategy, "symbol": t.symbol, "entry_time": _iso(s, t.entry_utc),
             "entry_price": t.entry_price, "exit_time": _iso(s, t.exit_utc), "exit_price": t.exit_price,
             "quantity": t.quantity * t.direction, "pnl": round(t.pnl, 6)}
            for t in match_trades(pipeline.trading.matched_fills())]


def pnl_view(s: DaemonSnapshot) -> dict[str, Any]:
    """The day-run's P&L per strategy (each configured one, idle or not) and their total, from
    its published fills, positions and last bars; prices_at is the end of the newest bar. Its
    figures last until the day-run stops (close + lag); after that the day's report has them."""
    pipeline = _pipeline(s)
    clock = {"clock": _iso(s, s.clock_utc), "timezone": s.timezone.key}
    if pipeline is None:
        last = f"; the last report: mismarterctl report {s.last_report['date']}" if s.last_report else ""
        return {"date": None, "prices_at": None, **clock, "equity": None, "cash": None, "strategies": [],
                "note": f"no session is running{last}"}
    trading = pipeline.trading
    pnl = _day_pnl(s, trading)
    account = trading.account
    return {"date": s.day_run.day.isoformat() if s.day_run else None, "prices_at": _iso(s, trading.last_bar_end_utc),
            **clock, "equity": None if account is None else round(account.equity, 6),
            "cash": None if account is None else round(account.cash, 6),
            "strategies": [_pnl_row(r) for r in (*pnl.strategies, pnl.total)]}


def _day_pnl(s: DaemonSnapshot, trading: TradingSnapshot) -> DayPnl:
    ids = [strategy_id(e, i) for i, e in enumerate(s.session_config.strategies)]
    return day_pnl(trading.matched_fills(), trading.strategy_positions, trading.broker_positions, trading.last_closes(), ids)


def _pnl_row(r: StrategyPnl) -> dict[str, Any]:
    def money(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return {"strategy": r.strategy, "realized": money(r.realized), "unrealized": money(r.unrealized),
            "total": money(r.total), "fees": money(r.fees), "trades": r.trades}


def quality_view(s: DaemonSnapshot) -> list[dict[str, Any]]:
    pipeline = _pipeline(s)
    if pipeline is None:
        return []
    pct, gaps = dict(pipeline.quality.quality_pct), dict(pipeline.quality.gaps)
    return [{"symbol": sym, "quality_pct": round(pct.get(sym, 100.0), 4), "gaps": gaps.get(sym, 0)}
            for sym in s.symbols]


def session_view(s: DaemonSnapshot) -> dict[str, Any]:
    run = s.day_run
    hours = None
    if run is not None:
        hours = {"regular_open": _iso(s, run.regular_open_utc), "regular_close": _iso(s, run.regular_close_utc),
                 "early_close": run.early_close}
    config = s.session_config
    pipeline = _pipeline(s)
    disabled = set(pipeline.trading.disabled_strategies) if pipeline else set()
    strategies = [{"id": strategy_id(e, i), "source": e.name or f"{e.file}:{e.class_name}",
                   "disabled": strategy_id(e, i) in disabled} for i, e in enumerate(config.strategies)]
    last_bars = [{"symbol": b.symbol, "interval": b.interval, "start": _iso(s, b.start_utc),
                  "close": format_price(b.close)} for b in pipeline.trading.last_bars] if pipeline else []
    return {"session_name": config.session_name, "date": run.day.isoformat() if run else None, "hours": hours,
            "symbols": config.session_data_config.symbols, "strategies": strategies,
            "state": s.state.value, "last_bars": last_bars, "quality": quality_view(s), "threads": threads_view(s)}


def metrics_view(s: DaemonSnapshot) -> MetricsView:
    pipeline = _pipeline(s)
    reconciliation = _reconciliation(s)
    threads: tuple[ThreadView, ...] = ()
    bars: dict[tuple[str, str], int] = {}
    quality: dict[str, float] = {}
    gaps: dict[str, int] = {}
    orders_submitted, fills_by_side = dict(s.orders_before), dict(s.fills_before)
    refusals = {check.value: s.refusals_before.get(check.value, 0) for check in RiskCheck}
    loss_halts = s.loss_halts_before
    session_orders: dict[tuple[str, str], int] = {}
    positions: dict[str, int] = {}
    realized = unrealized = equity = 0.0
    if pipeline is not None:
        threads = tuple(ThreadView(t.name, t.alive, t.queue_depth, t.items_processed) for t in pipeline.threads)
        trading = pipeline.trading
        bars = dict(trading.bars_by_series)
        quality = {sym: pct / 100 for sym, pct in pipeline.quality.quality_pct}
        gaps = dict(pipeline.quality.gaps)
        for o in trading.orders:
            side = o.request.side.value
            if o.status is not OrderStatus.REFUSED:  # refused orders never reached the broker
                orders_submitted[side] = orders_submitted.get(side, 0) + 1
            session_orders[(side, o.status.value)] = session_orders.get((side, o.status.value), 0) + 1
        for f in trading.fills:
            fills_by_side[f.side.value] = fills_by_side.get(f.side.value, 0) + 1
        for check, n in trading.refusals_by_check:
            refusals[check] = refusals.get(check, 0) + n
        loss_halts += trading.loss_halts
        realized = sum(t.pnl for t in match_trades(trading.matched_fills()))
        if trading.account is not None:  # the account's view: the broker's value of what it holds, less its cost
            unrealized = trading.account.positions_value - sum(p.quantity * p.avg_price
                                                               for p in trading.broker_positions)
            equity = trading.account.equity
        positions = {p.symbol: p.quantity for p in trading.broker_positions}
    return MetricsView(
        state=s.state, session_active=s.session_active, clock_unix=_unix(s.clock_utc),
        session_due=s.planned is not None and s.planned.start_utc <= s.clock_utc < s.planned.stop_utc,
        next_start_unix=_unix(s.next_start_utc) if s.next_start_utc else 0.0,
        next_stop_unix=_unix(s.planned.stop_utc) if s.planned else 0.0,
        session_failures=s.session_failures, session_restarts=s.session_restarts, threads=threads,
        bars_processed=bars, last_bar_age_secs=last_bar_age(s), quality_ratio=quality, gaps=gaps,
        orders_submitted=orders_submitted, session_orders=session_orders, fills=fills_by_side,
        positions=positions, realized_pnl=realized, unrealized_pnl=unrealized, equity=equity,
        daily_loss_limit=effective_limits(s.daemon_config.risk, s.session_config.risk).daily_loss_limit or 0.0,
        halted=s.halted is not None, risk_refusals=refusals, daily_loss_halts=loss_halts,
        broker_connected=(pipeline.trading.broker_connected if pipeline is not None else True) and s.venue.connected,
        venue=s.venue,
        watchdog_healthy=s.watchdog_healthy, symbols=s.symbols,
        position_mismatches=len(pipeline.trading.position_mismatches) if pipeline is not None else 0,
        reconciliation_mismatches=_mismatch_counts(s)[1],
        reconciliation_open=len(reconciliation.open) if reconciliation is not None else 0,
        reconciliation_halted=reconciliation is not None and reconciliation.halted is not None,
    )
