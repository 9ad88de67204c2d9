"""The replay clock's command-line options, shared by `mismarterad run` and `mismarterad emulate`
(a daemon and an emulator given the same --start, --speed and --anchor read the same time)."""

from __future__ import annotations

import argparse
import math
import time
from datetime import datetime

from mismarterad.core.clock import Clock, ReplayClock, SystemClock
from mismarterad.core.errors import ConfigError

__all__ = ["add_clock_arguments", "clock_from_args"]

_ANCHOR_SPAN_SECS = 86_400.0  # an --anchor further from now is a mistake (milliseconds, yesterday's)


def add_clock_arguments(p: argparse.ArgumentParser) -> None:
    """--clock, --start, --speed, --anchor: the daemon's and the emulators' (read by `clock_from_args`)."""
    p.add_argument("--clock", choices=("system", "replay"), default="system")
    p.add_argument("--start", default=None, metavar="ISO", help="replay clock start, e.g. 2011-01-04T09:00:00-05:00")
    p.add_argument("--speed", type=float, default=None, metavar="N", help="replay speed (default 60)")
    p.add_argument("--anchor", type=float, default=None, metavar="UNIX_SECS",
                   help="the real instant (Unix seconds) at which the replay clock reads --start (default: when "
                        "the process starts it); processes given the same --start, --speed and --anchor keep "
                        "the same time")


def clock_from_args(args: argparse.Namespace) -> Clock:
    """The clock the options ask for; ConfigError (exit 78) naming the option that is wrong."""
    if args.clock == "system":
        if args.start is not None or args.speed is not None or args.anchor is not None:
            raise ConfigError("--start, --speed and --anchor need --clock replay")
        return SystemClock()
    if args.start is None:
        raise ConfigError("--clock replay needs --start (an ISO time with its offset, e.g. 2011-01-04T09:00:00-05:00)")
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        raise ConfigError(f"--start: not an ISO 8601 time: {args.start!r}") from None
    if start.tzinfo is None:
        raise ConfigError(f"--start: give the UTC offset (e.g. {args.start}-05:00), got a naive time")
    speed = 60.0 if args.speed is None else args.speed
    if not 0 < speed <= 100_000:
        raise ConfigError(f"--speed: must be > 0 and <= 100000, got {speed}")
    if args.anchor is not None and not (math.isfinite(args.anchor) and abs(time.time() - args.anchor) <= _ANCHOR_SPAN_SECS):
        raise ConfigError(f"--anchor: expected Unix seconds within a day of now (date +%s), got {args.anchor}: "
                          "an old anchor would start the replay days or years after --start")
    return ReplayClock(start, speed, anchor=args.anchor)
