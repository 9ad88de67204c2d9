"""What the venue rigs of the broker contract share: a Broker whose `on_bar` and
`close_session` drive the venue's emulator first (its market), with the venue's test controls.

A live broker has no `on_bar` market of its own, so the rig plays the market too: `on_bar(bar)`
first streams the bar from the emulator (`POST /_emulator/bars`: orders match) and then calls
the broker's `on_bar`, which waits for those fills; `close_session` runs the emulator's session
close (`POST /_emulator/close`) first. `fault` arms one of the emulator's faults.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from mismarterad.core.market_data import Bar
from support.emulator_process import EmulatorProcess

R = TypeVar("R", bound="VenueRig")


class VenueRig:
    """The broker's interface (`broker`), the emulator (`emulator`) driven first."""

    broker: Any
    emulator: EmulatorProcess

    def __init__(self, root: Path | None) -> None:
        """`root`: the emulator's directory, removed (and the emulator stopped) by `close`; None
        for a rig that shares another's emulator."""
        self._root = root

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)

    def on_bar(self, bar: Bar) -> None:
        self.emulator.inject_bars([bar])
        self.broker.on_bar(bar)

    def close_session(self, last_bars: dict[str, Bar]) -> None:
        self.emulator.close_session(list(last_bars.values()))
        self.broker.close_session(last_bars)

    def fault(self, kind: str, **params: Any) -> bool:
        """Arm an emulator fault (venue_emulator/faults.py); True: this venue has faults."""
        self.emulator.fault(kind, **params)
        return True

    def close(self) -> None:
        try:
            self.close_broker()
        finally:
            if self._root is not None:
                self.emulator.stop()
                shutil.rmtree(self._root, ignore_errors=True)

    def close_broker(self) -> None:
        self.broker.close()


def start_rig(prefix: str, start: Callable[[Path], EmulatorProcess], make: Callable[[Any, Path], R]) -> R:
    """A rig on a fresh emulator (`start(root)`) in a temporary directory; `make(emulator, root)`."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    emulator = start(root)
    try:
        return make(emulator, root)
    except BaseException:
        emulator.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
