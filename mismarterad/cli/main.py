"""`mismarterad`: entry point of the daemon and its offline commands.

Building the parser imports only argparse and the command modules' light tops: each handler
imports what it needs when it runs, so `--version` and `--help` cost a fraction of a second
(bench/bench_cli_startup.py measures it) instead of the whole pipeline's imports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mismarterad import __version__
from mismarterad.core.errors import (
    AssistantError,
    BudgetExceededError,
    CalendarError,
    ConfigError,
    DataError,
    LockedError,
    MismarteradError,
    StorageError,
)
from mismarterad.cli.support import EX_CONFIG, EX_DATAERR, EX_IOERR, EX_SOFTWARE, EX_TEMPFAIL, EX_UNAVAILABLE
from mismarterad.cli.commands import (
    auth_cmd,
    backtest_cmd,
    calendar_cmd,
    claude_cmd,
    config_cmd,
    data_cmd,
    db_cmd,
    emulate_cmd,
    init_cmd,
    run_cmd,
    schedule_cmd,
    strategy_cmd,
    time_cmd,
    user_cmd,
)

__all__ = ["build_parser", "main"]

DESCRIPTION = """Unattended intraday US-equity trading daemon and its offline tools.

Settings come from MISMARTERAD_* environment variables (DATABASE_URL, DATA_DIR, STATE_DIR,
LOG_FORMAT, LOG_LEVEL) and an optional TOML file (MISMARTERAD_SETTINGS). Logs go to stderr;
stdout carries only a command's own output. Exit codes: 0 ok, 2 usage, 65 bad data,
73 would overwrite a file (init, strategy new; --force overwrites),
74 I/O error (disk full, unreadable or damaged file), 75 locked by another process (try again),
78 invalid configuration, 69 the language model's or a venue's API could not answer, 1 internal error."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mismarterad", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"mismarterad {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run_cmd, schedule_cmd, backtest_cmd, data_cmd, config_cmd, strategy_cmd, init_cmd, db_cmd,
                   calendar_cmd, time_cmd, emulate_cmd, auth_cmd, claude_cmd, user_cmd):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import structlog

    from mismarterad.cli.logging import configure_logging, print_error
    from mismarterad.config.settings import load_settings

    configure_logging()  # stderr from the first line on; refined once settings are known
    log = structlog.get_logger(component="cli")
    try:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        if getattr(args, "needs_app", True):
            from mismarterad.runs.app import App

            return int(args.func(args, App(settings=settings)))
        return int(args.func(args))
    except ConfigError as exc:
        print_error(f"mismarterad: configuration error: {exc}")
        return EX_CONFIG
    except (DataError, CalendarError) as exc:
        print_error(f"mismarterad: {exc}")
        return EX_DATAERR
    except StorageError as exc:
        print_error(f"mismarterad: {exc}")
        return EX_IOERR
    except (LockedError, BudgetExceededError) as exc:  # try again later: a lock, or the next budget period
        print_error(f"mismarterad: {exc}")
        return EX_TEMPFAIL
    except AssistantError as exc:
        print_error(f"mismarterad: {exc}")
        return EX_UNAVAILABLE
    except MismarteradError as exc:
        print_error(f"mismarterad: {exc}")
        return EX_SOFTWARE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        log.exception("command_failed", command=args.command, error=str(exc))
        return EX_SOFTWARE


if __name__ == "__main__":
    sys.exit(main())
