"""The console's watcher works out the P&L (a pass over the day's fills) once per market minute,
not at each of its four looks a second, and draws one curve point per minute."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from support.daemon_snapshots import NOW, daemon_snapshot, pipeline_snapshot

from mismarterad.api import snapshot_watch
from mismarterad.api.event_hub import EventHub
from mismarterad.api.snapshot_watch import SnapshotWatch
from mismarterad.daemon.control import DaemonSnapshot


@dataclass
class MovingDaemon:
    clock: datetime

    def snapshot(self) -> DaemonSnapshot:
        return replace(daemon_snapshot(pipeline_snapshot()), clock_utc=self.clock)


def test_the_pnl_is_worked_out_once_per_market_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    worked: list[datetime] = []
    real = snapshot_watch.pnl_view

    def counted(s: DaemonSnapshot) -> dict[str, Any]:
        worked.append(s.clock_utc)
        return real(s)

    monkeypatch.setattr(snapshot_watch, "pnl_view", counted)
    daemon, hub = MovingDaemon(NOW.replace(second=0)), EventHub()
    watch = SnapshotWatch(daemon, lambda: {}, hub)  # type: ignore[arg-type]
    for second in (0, 15, 30, 45, 60, 75):
        daemon.clock = NOW.replace(second=0) + timedelta(seconds=second)
        watch._look()
    assert len(worked) == 2 and len(watch.series()) == 2
    assert [e.kind for e in hub.since(0)].count("pnl") == 2
