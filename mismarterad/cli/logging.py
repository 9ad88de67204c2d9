"""structlog set-up: always to stderr; JSON lines off a TTY (journald), console text on one.

Every line carries a UTC ISO-8601 timestamp, level, component and event; `session_id` when a
session runs (bound by the SystemManager). Values under secret-looking keys (at any depth) and
passwords inside URLs are redacted (`mismarterad.core.redaction`), the exception text included.

When stderr is the journal (systemd.exec(5): `$JOURNAL_STREAM` holds the device and inode of
the stream systemd connected, and they are stderr's own), every line starts with its
sd-daemon(3) priority (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug), so
`journalctl -p warning` selects by level. A multi-line record (the console format's
traceback) gets the prefix on each of its lines. Anywhere else (a terminal, a file, a pipe,
a child whose stderr was redirected) no prefix is written.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import structlog

from mismarterad.core.redaction import redact

__all__ = ["JOURNAL_PRIORITIES", "configure_logging", "print_error", "redact_secrets", "stderr_is_journal"]

#: sd-daemon(3) priority of each structlog level
JOURNAL_PRIORITIES = {"critical": 2, "error": 3, "warning": 4, "info": 6, "debug": 7}


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


def stderr_is_journal(environ: Mapping[str, str] | None = None, fd: int | None = None) -> bool:
    """Whether `fd` (stderr's) is the stream systemd connected to the journal: `$JOURNAL_STREAM`
    is "DEVICE:INODE" and they match the descriptor's. A variable inherited by a process whose
    stderr goes elsewhere does not match, so its output is never prefixed."""
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, sep, inode = value.partition(":")
    if not (sep and device.isdigit() and inode.isdigit()):
        return False
    try:
        found = os.fstat(sys.stderr.fileno() if fd is None else fd)
    except (OSError, ValueError):  # no descriptor behind stderr (a test's capture, a closed stream)
        return False
    return (found.st_dev, found.st_ino) == (int(device), int(inode))


def _prefixed(priority: int, text: str) -> str:
    return "\n".join(f"<{priority}>{line}" for line in text.split("\n"))


class _JournalPriority:
    """Wraps the renderer: each line of the rendered record starts with its level's priority."""

    def __init__(self, renderer: Callable[..., str]) -> None:
        self._renderer = renderer

    def __call__(self, logger: object, name: str, event: MutableMapping[str, Any]) -> str:
        # the level is read before rendering: the console renderer pops it
        priority = JOURNAL_PRIORITIES.get(str(event.get("level")), JOURNAL_PRIORITIES["info"])
        return _prefixed(priority, self._renderer(logger, name, event))


def print_error(text: str) -> None:
    """A command's one-line failure on stderr (the exit code's reason), at priority error when
    stderr is the journal: `journalctl -p err` shows why a start failed."""
    print(_prefixed(JOURNAL_PRIORITIES["error"], text) if stderr_is_journal() else text, file=sys.stderr)


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
    if stderr_is_journal():
        renderer = _JournalPriority(renderer)
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
