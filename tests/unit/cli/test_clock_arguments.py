"""The replay clock's command-line options (`run` and `emulate` share them): each bad one is a
ConfigError naming the option (exit 78), and --anchor sets the wall instant --start stands for."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import pytest

from mismarterad.cli.clock_options import add_clock_arguments, clock_from_args
from mismarterad.core.clock import ReplayClock, SystemClock
from mismarterad.core.errors import ConfigError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_clock_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize(("argv", "named"), [
    (("--anchor", "1700000000"), "--anchor need --clock replay"),
    (("--speed", "10"), "need --clock replay"),
    (("--clock", "replay"), "--clock replay needs --start"),
    (("--clock", "replay", "--start", "2011-01-04T09:30"), "--start: give the UTC offset"),
    (("--clock", "replay", "--start", "yesterday"), "--start: not an ISO 8601 time"),
    (("--clock", "replay", "--start", "2011-01-04T09:30:00-05:00", "--speed", "0"), "--speed: must be > 0"),
    (("--clock", "replay", "--start", "2011-01-04T09:30:00-05:00", "--anchor", "nan"), "--anchor: expected Unix"),
    (("--clock", "replay", "--start", "2011-01-04T09:30:00-05:00", "--anchor", "inf"), "--anchor: expected Unix"),
    (("--clock", "replay", "--start", "2011-01-04T09:30:00-05:00", "--anchor", "0"), "--anchor: expected Unix"),
    (("--clock", "replay", "--start", "2011-01-04T09:30:00-05:00", "--anchor", str(time.time() * 1000)),
     "within a day of now"),  # milliseconds
    (("--clock", "replay", "--start", "2011-01-04T09:30:00-05:00", "--anchor", str(time.time() - 2 * 86_400)),
     "within a day of now"),  # an old rehearsal's
])
def test_a_bad_clock_option_is_named(argv: tuple[str, ...], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("+", r"\+")):
        clock_from_args(parse(*argv))


def test_the_anchor_is_the_wall_instant_the_start_stands_for() -> None:
    start = datetime(2011, 1, 4, 14, 30, tzinfo=UTC)
    ten_secs_ago = time.time() - 10.0
    clock = clock_from_args(parse("--clock", "replay", "--start", start.isoformat(), "--speed", "1",
                                  "--anchor", str(ten_secs_ago)))
    assert isinstance(clock, ReplayClock)
    assert start + timedelta(seconds=9.9) < clock.now() < start + timedelta(seconds=100)  # however loaded
    assert isinstance(clock_from_args(parse()), SystemClock)
