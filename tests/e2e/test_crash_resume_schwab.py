"""The crash test over the Schwab emulator, the same rig as Alpaca's (support/crash_days.py says
what it does and checks): 50+ SIGKILLs over two days on one emulator account, no order placed
twice (each order the venue made bound once in the daemon's ledger, none unbound), none lost,
positions equal, flat after each close. Its own module, so xdist can run it beside Alpaca's."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.crash_days import crash_rig_fixture, crash_two_days
from support.crash_harness import SCHWAB, CrashRig

pytestmark = pytest.mark.slow

rig = crash_rig_fixture(SCHWAB)


@pytest.mark.timeout(600)
def test_sigkill_at_50_moments_of_two_days_on_schwab_loses_nothing_and_places_nothing_twice(
        rig: CrashRig, tmp_path: Path) -> None:
    crash_two_days(rig, tmp_path)
