"""What changed between two looks at the daemon: the console's events, as a pure function.

The watcher (api/snapshot_watch.py) calls `changes` with what it saw last and a new
`DaemonSnapshot`; it gets back what it sees now and the events to publish: a state change
(the SystemManager's state, the session, the day), a halt set or lifted (the operator's, the
daily-loss limit's, reconciliation's), and each fill not seen before. The first look only
takes note: fills made before the API started are not announced again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mismarterad.core.orders import Fill
from mismarterad.daemon.control import DaemonSnapshot
from mismarterad.daemon.views import halt_record

__all__ = ["Seen", "changes", "fill_record"]

FillKey = tuple[str, str, str, int, float]


@dataclass(frozen=True, slots=True)
class Seen:
    state: dict[str, Any]
    halts: dict[str, Any]
    day: str | None
    fills: frozenset[FillKey]


def _fill_key(f: Fill) -> FillKey:
    return (f.client_order_id, f.execution_id, f.ts_utc.isoformat(), f.quantity, f.price)


def fill_record(s: DaemonSnapshot, f: Fill) -> dict[str, Any]:
    return {"time": f.ts_utc.astimezone(s.timezone).isoformat(), "symbol": f.symbol, "side": f.side.value,
            "quantity": f.quantity, "price": f.price, "strategy": f.strategy, "client_order_id": f.client_order_id}


def _look(s: DaemonSnapshot) -> tuple[dict[str, Any], dict[str, Any], str | None, list[Fill]]:
    pipeline = s.day_run.pipeline if s.day_run is not None else None
    day = s.day_run.day.isoformat() if s.day_run is not None else None
    state = {"state": s.state.value, "session_active": s.session_active, "session_date": day,
             "error": s.error or s.start_error}
    trading = pipeline.trading if pipeline is not None else None
    halts = {"operator": halt_record(s.halted, s.timezone),
             "loss": trading is not None and trading.loss_halt is not None,
             "reconciliation": (trading.reconciliation.halted if trading is not None and trading.reconciliation
                                is not None else None)}
    return state, halts, day, list(trading.fills) if trading is not None else []


def changes(seen: Seen | None, s: DaemonSnapshot) -> tuple[Seen, list[tuple[str, dict[str, Any]]]]:
    state, halts, day, fills = _look(s)
    keys = frozenset(_fill_key(f) for f in fills)
    now = Seen(state, halts, day, keys)
    if seen is None:
        return now, []
    events: list[tuple[str, dict[str, Any]]] = []
    if state != seen.state:
        events.append(("state", state))
    if halts != seen.halts:
        events.append(("halt", {"halted": halts["operator"] is not None, **halts}))
    known = seen.fills if day == seen.day else frozenset()
    events += [("fill", fill_record(s, f)) for f in fills if _fill_key(f) not in known]
    return Seen(state, halts, day, keys | known if day == seen.day else keys), events
