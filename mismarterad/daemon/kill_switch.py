"""The kill switch: the operator's halt, held by the daemon and kept on disk.

The halt is the daemon's, not a day-run's: it is set and lifted in and outside a session, a
day-run started while halted starts halted, and `halt.json` carries it across daemon
restarts. Halting while halted keeps the first `since`, takes the newest `by` (and reason, if
one is given) and keeps `flatten` once asked; each halt cancels (and flattens) again, so `halt`
then `halt flatten` escalates (docs/decisions.md). The daemon calls it under its own lock.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from mismarterad.core.halt import HaltState
from mismarterad.core.orders import OrderStatus
from mismarterad.daemon.control import HaltOutcome
from mismarterad.managers.execution_manager import ExecutionManager
from mismarterad.repositories.halt_store import HaltStore

__all__ = ["KillSwitch"]

log = structlog.get_logger(component="daemon")


class KillSwitch:
    def __init__(self, store: HaltStore, now_utc: datetime) -> None:
        self.store = store
        self.state: HaltState | None = store.load(now_utc)

    def halt(self, execution: ExecutionManager | None, running: bool, now_utc: datetime, by: str, reason: str,
             flatten: bool) -> HaltOutcome:
        """Halt now; with a running session also cancel its open orders (and flatten)."""
        old = self.state
        state = HaltState(old.since_utc if old else now_utc, by, reason or (old.reason if old else ""),
                          flatten or (old is not None and old.flatten))
        self.state = state  # first: a day-run (re)started from here on starts halted
        if execution is not None:
            execution.halt(True)
        save_error = self._save(state)
        canceled: tuple[str, ...] = ()
        flattened: tuple[str, ...] = ()
        running = execution is not None and running
        if execution is not None and running:
            # a working flatten order (the pre-close flatten, the daily-loss one, an earlier
            # `halt flatten`) stays: canceling it would leave the position open
            canceled = tuple(o.client_order_id for o in execution.cancel_open_orders(keep_closing=True))
            if state.flatten:
                flattened = tuple(o.client_order_id for o in execution.flatten(now_utc)
                                  if o.status not in (OrderStatus.REFUSED, OrderStatus.REJECTED))
        log.warning("trading_halted", by=by, reason=state.reason, flatten=flatten, since=state.since_utc.isoformat(),
                    in_session=running, canceled=len(canceled), flatten_orders=len(flattened),
                    saved=save_error is None)
        return HaltOutcome(state, running, canceled, flattened, save_error)

    def resume(self, execution: ExecutionManager | None, by: str) -> HaltOutcome:
        """Lift the halt (and a running session's daily-loss halt)."""
        old, self.state = self.state, None
        if execution is not None:
            execution.halt(False)
        save_error = None
        try:
            self.store.clear()
        except OSError as exc:
            save_error = (f"the halt file {self.store.path} could not be removed "
                          f"({exc.strerror or exc}): a restarted daemon would start halted again")
            log.error("halt_file_not_removed", path=str(self.store.path), error=str(exc))
        log.warning("trading_resumed", by=by, was_halted=old is not None,
                    halted_since=old.since_utc.isoformat() if old else None, in_session=execution is not None,
                    saved=save_error is None)
        return HaltOutcome(None, execution is not None, save_error=save_error)

    def _save(self, state: HaltState) -> str | None:
        try:
            self.store.save(state)
        except OSError as exc:
            log.error("halt_file_not_saved", path=str(self.store.path), error=str(exc),
                      note="the halt holds in memory; a restarted daemon would not be halted")
            return (f"the halt was NOT saved to {self.store.path} ({exc.strerror or exc}): "
                    "it holds until this daemon stops, but a restarted daemon would not be halted")
        return None
