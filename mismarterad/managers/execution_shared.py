"""What the ExecutionManager's parts (the manager, its settling and its reconciling) share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog

from mismarterad.core.errors import BrokerError

__all__ = ["ACCOUNT_OWNER", "guarded"]

T = TypeVar("T")
ACCOUNT_OWNER = "(account)"  # the owner of what the broker has and no strategy explains (adopted, closed by the flatten)

log = structlog.get_logger(component="execution_manager")


def guarded(call: Callable[..., T], *args: object) -> T | None:
    """A broker call whose failure must not stop what surrounds it (a flatten's or a
    cancel-all's other orders, a check such as the positions comparison after fills): the
    failure is logged and None returned."""
    try:
        return call(*args)
    except BrokerError as exc:
        log.error("broker_call_failed", call=getattr(call, "__name__", "?"), error=str(exc))
        return None
