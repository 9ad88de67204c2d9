"""`self.log` of a strategy: structured log events tagged with who wrote them and when.

A backtest replays a month in seconds, so the wall-clock timestamp of a line says nothing about
the market: every event also carries `market_time`, the end of the 1-minute step being handled
(exchange-local ISO 8601; absent in `on_start`, before any session). Events go through the
daemon's structlog set-up, so they reach stderr/journald with the same redaction as the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

__all__ = ["StrategyLog"]


class StrategyLog:
    """Log events as `self.log.info("entered", symbol="SPY", price=bar.close)`: snake_case
    event names, data in keys. Each line carries `component="strategy"`, `strategy` (its id),
    `market_time`, and `symbol` when given."""

    __slots__ = ("_log", "_market_time")

    def __init__(self, logger: Any, market_time: Callable[[], datetime | None]) -> None:
        self._log = logger
        self._market_time = market_time

    @classmethod
    def of(cls, strategy_id: str, market_time: Callable[[], datetime | None]) -> StrategyLog:
        """The log of one strategy; `market_time` gives the step being handled (None before any)."""
        return cls(structlog.get_logger(component="strategy").bind(strategy=strategy_id), market_time)

    def bind(self, **fields: Any) -> StrategyLog:
        """A log whose every event also carries `fields`."""
        return StrategyLog(self._log.bind(**fields), self._market_time)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit("debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit("info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit("warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit("error", event, fields)

    def _emit(self, level: str, event: str, fields: dict[str, Any]) -> None:
        at = self._market_time()
        if at is not None:
            fields.setdefault("market_time", at.isoformat())
        getattr(self._log, level)(event, **fields)
