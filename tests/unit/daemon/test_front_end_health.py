"""A dead REST API (its server or event thread) makes the daemon unhealthy, so the watchdog pings
stop and systemd restarts it, and says so once in the log (`api_thread_died`)."""

from __future__ import annotations

from types import SimpleNamespace

from structlog.testing import capture_logs

from mismarterad.daemon.daemon import Daemon


def test_a_dead_api_is_logged_once_and_stops_the_watchdog_pings() -> None:
    up = SimpleNamespace(alive=True)
    daemon = SimpleNamespace(scheduler=up, control=up, front_end=SimpleNamespace(alive=False), healthy=True)
    with capture_logs() as logs:
        assert Daemon._check_health(daemon) is False  # type: ignore[arg-type]
        daemon.healthy = False  # as the main loop records it
        assert Daemon._check_health(daemon) is False  # type: ignore[arg-type]
    assert [(e["event"], e["log_level"]) for e in logs] == [("api_thread_died", "error")]
