"""A real Prometheus scrapes the real daemon during a replayed session: every Grafana panel query
returns data and every alert rule evaluates cleanly, with no alert firing on a healthy day. The
daemon's /metrics has no `_created` series, and all four threads feed the loop histogram."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.daemon_process import DAY, DaemonProcess, make_daemon
from support.prometheus_server import PrometheusNotInstalled, dashboard_targets, start_server

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "ops" / "prometheus" / "rules" / "mismarterad.rules.yml"
DASHBOARD = REPO / "ops" / "grafana" / "mismarterad-dashboard.json"
# a paper daemon exports no broker token's age (only broker = "schwab" does); the panel's query
# is checked with data in tests/ops/test_prometheus_support.py
OTHER_VENUES_METRICS = ("mismarterad_schwab_token_age_seconds",)


@pytest.mark.slow
def test_every_dashboard_query_returns_data_from_a_live_daemon(data_dir: Path, tmp_path: Path,
                                                               daemons: list[DaemonProcess]) -> None:
    d = make_daemon(tmp_path / "d", data_dir, start=f"{DAY}T09:25:00-05:00", speed=60)
    daemons.append(d)
    d.start()
    d.wait_ready()
    try:
        prometheus = start_server(f"127.0.0.1:{d.metrics_port}", rule_files=[RULES])
    except PrometheusNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        d.wait_for(lambda s: s["state"] == "RUNNING" and s["bars_processed"] > 5, 60, "the session to trade")
        prometheus.wait_for('mismarterad_bars_processed_total{job="mismarterad"} > 0', timeout=60)
        prometheus.wait_for('rate(mismarterad_bars_processed_total{job="mismarterad"}[1m]) > 0', timeout=60)
        empty = [str(t) for t in dashboard_targets(DASHBOARD)
                 if not any(m in t.expr for m in OTHER_VENUES_METRICS) and not prometheus.query(t.expr)]
        assert not empty, "dashboard queries without data:\n" + "\n".join(empty)
        unhealthy = [r for g in prometheus.rules() for r in g.get("rules", []) if r.get("health") != "ok"]
        assert not unhealthy, unhealthy
        firing = [a for a in prometheus.alerts() if a.get("state") == "firing"]
        assert not firing, firing
        text = d.metrics()
        assert not re.findall(r"^\w+_created\b.*$", text, re.MULTILINE)
        for thread in ("SessionCoordinator", "DataProcessor", "DataQualityManager", "AnalysisEngine"):
            count = re.search(rf'^mismarterad_thread_loop_duration_seconds_count{{thread="{thread}"}} (\S+)$', text,
                              re.MULTILINE)
            assert count and float(count.group(1)) > 0, f"{thread} never observed its loop"
    finally:
        prometheus.stop()
