"""structlog set-up: always to stderr; JSON lines off a TTY (journald), console text on one.

Every line carries a UTC ISO-8601 timestamp, level, component and event; `session_id` when a
session runs (bound by the SystemManager). Values under secret-looking keys (at any depth) and
passwords inside URLs are redacted (`mismarterad.core.redaction`), the exception text included.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

from mismarterad.core.redaction import redact

__all__ = ["configure_logging", "redact_secrets"]

def redact_secrets(_logger: object, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: hide values of secret-looking keys (nested dicts and lists too) and passwords
    inside URLs, in every field of the event."""
    for key, value in list(event.items()):
        event[key] = redact(value, key)
    return event


def _default_component(_logger: object, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.setdefault("component", "mismarterad")
    return event


def _error_counter(on_error: Callable[[str], None]) -> Callable[..., MutableMapping[str, Any]]:
    def count(_logger: object, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if event.get("level") in ("error", "critical"):
            on_error(str(event.get("component", "mismarterad")))
        return event

    return count


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at that moment. While a rich progress bar is shown, that
    is its console's proxy, which prints each log line above the bar instead of through it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(log_format: str = "auto", level: str = "info",
                      on_error: Callable[[str], None] | None = None) -> None:
    """Configure structlog once per process; `on_error(component)` sees every error line (metrics)."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=True)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _default_component,
            *([_error_counter(on_error)] if on_error is not None else []),
            structlog.processors.format_exc_info,  # before redaction: the traceback text is redacted too
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
