"""The monitoring files under ops/: Prometheus config, alerting rules and their unit tests
(checked by the real promtool), and the Grafana dashboard against docs/metrics.md."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.prometheus_server import PrometheusNotInstalled, dashboard_targets, find_binary

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = ROOT / "ops" / "prometheus" / "prometheus.yml"
RULES = ROOT / "ops" / "prometheus" / "rules" / "mismarterad.rules.yml"
RULES_TEST = ROOT / "ops" / "prometheus" / "rules" / "mismarterad.rules.test.yml"
DASHBOARD = ROOT / "ops" / "grafana" / "mismarterad-dashboard.json"
METRICS_DOC = ROOT / "docs" / "metrics.md"

METRIC_NAME = re.compile(r"mismarterad_[a-z_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}


@pytest.fixture(scope="module")
def promtool() -> Path:
    try:
        return find_binary("promtool")
    except PrometheusNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)


def run_promtool(promtool: Path, *args: str, cwd: Path) -> str:
    proc = subprocess.run([str(promtool), *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"promtool {' '.join(args)} failed ({proc.returncode}):\n{output}"
    return output


# ---------------------------------------------------------------------------- promtool


def test_prometheus_config_is_valid_from_any_directory(promtool: Path, tmp_path: Path) -> None:
    # The rule file is named relative to the config file, not to the working directory.
    output = run_promtool(promtool, "check", "config", str(PROMETHEUS_CONFIG), cwd=tmp_path)
    assert "1 rule files found" in output
    assert re.search(r"SUCCESS: \d+ rules found", output), output


def test_alert_rules_are_valid(promtool: Path) -> None:
    run_promtool(promtool, "check", "rules", str(RULES), cwd=ROOT)


def test_alert_rule_unit_tests_pass(promtool: Path) -> None:
    output = run_promtool(promtool, "test", "rules", str(RULES_TEST), cwd=ROOT)
    assert "SUCCESS" in output


def alert_blocks() -> dict[str, str]:
    """Each alerting rule's text, by alert name (the file is plain, hand-written YAML)."""
    parts = re.split(r"^\s*- alert: ", RULES.read_text(), flags=re.MULTILINE)[1:]
    return {part.split("\n", 1)[0].strip(): part for part in parts}


def test_every_alert_has_severity_summary_and_description() -> None:
    blocks = alert_blocks()
    assert set(blocks) >= {
        "MismarteradDown", "MismarteradWatchdogRestarts", "MismarteradWatchdogUnhealthy", "MismarteradStaleData",
        "MismarteradThreadDead", "MismarteradQualityLow", "MismarteradBrokerDisconnected",
        "MismarteradSessionFailed", "MismarteradDailyLossLimit", "MismarteradPositionMismatch",
        "MismarteradHalted", "MismarteradReconciliationMismatch", "MismarteradAbsent",
        "MismarteradSessionNotStarted",
    }
    for name, text in blocks.items():
        assert re.search(r"^\s+severity: (critical|warning)$", text, re.MULTILINE), name
        assert re.search(r"^\s+summary: ", text, re.MULTILINE), name
        assert re.search(r"^\s+description: ", text, re.MULTILINE), name


def test_every_alert_is_tested_firing_and_silent() -> None:
    tests = RULES_TEST.read_text()
    for name in alert_blocks():
        fires = re.search(rf"alertname: {name}\n\s+exp_alerts:\n\s+- exp_labels:", tests)
        silent = re.search(rf"alertname: {name}\n\s+exp_alerts: \[\]", tests)
        assert fires, f"no promtool test case where {name} fires"
        assert silent, f"no promtool test case where {name} must stay silent"


# ---------------------------------------------------------------------------- dashboard


def load_dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(all_panels(panel.get("panels", [])))
    return out


def test_dashboard_variables() -> None:
    dashboard = load_dashboard()
    assert dashboard["schemaVersion"] >= 39
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    job, instance = variables["job"], variables["instance"]
    assert list(variables).index("job") < list(variables).index("instance"), "instance depends on job"
    assert job["datasource"] == instance["datasource"] == DATASOURCE
    assert job["definition"] == "label_values(mismarterad_build_info, job)"
    assert job["current"]["value"] == "mismarterad" and not job["includeAll"]
    assert instance["allValue"] == ".*"
    assert instance["definition"] == 'label_values(mismarterad_build_info{job=~"$job"}, instance)'


def test_every_panel_has_the_datasource_and_a_query() -> None:
    panels = all_panels(load_dashboard()["panels"])
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    graphs = [p for p in panels if p["type"] != "row"]
    assert len(graphs) >= 20
    for panel in graphs:
        title = panel.get("title")
        assert title, f"panel {panel['id']} has no title"
        assert panel.get("datasource") == DATASOURCE, title
        assert panel.get("targets"), f"{title}: no targets"
        for target in panel["targets"]:
            assert target.get("expr", "").strip(), f"{title}: a target without expr"
            assert target.get("datasource", DATASOURCE) == DATASOURCE, title
            assert 'job=~"$job"' in target["expr"], f"{title}: {target['expr']}"
            assert 'instance=~"$instance"' in target["expr"], f"{title}: {target['expr']}"


def test_dashboard_queries_substitute_every_variable() -> None:
    targets = dashboard_targets(DASHBOARD)
    assert len(targets) >= 20
    for target in targets:
        assert "$" not in target.expr, str(target)
        assert 'instance=~".*"' in target.expr and 'job=~"mismarterad"' in target.expr, str(target)


# ---------------------------------------------------------------------------- metric names


def documented_metrics() -> set[str]:
    names = set(re.findall(r"^\| `(mismarterad_[a-z_]+)`", METRICS_DOC.read_text(), flags=re.MULTILINE))
    assert len(names) > 20, "docs/metrics.md table not found"
    return names


def referenced_metrics(text: str) -> set[str]:
    documented = documented_metrics()
    names = set()
    for name in METRIC_NAME.findall(text):
        if name not in documented:
            for suffix in HISTOGRAM_SUFFIXES:
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
                    break
        names.add(name)
    return names


@pytest.mark.parametrize("path", [DASHBOARD, RULES, RULES_TEST, PROMETHEUS_CONFIG], ids=lambda p: p.name)
def test_every_referenced_metric_is_documented(path: Path) -> None:
    unknown = referenced_metrics(path.read_text()) - documented_metrics()
    assert not unknown, f"{path.name} uses metrics missing from docs/metrics.md: {sorted(unknown)}"


def test_dashboard_shows_every_documented_metric() -> None:
    missing = documented_metrics() - referenced_metrics(DASHBOARD.read_text())
    assert not missing, f"documented metrics without a dashboard panel: {sorted(missing)}"


def test_the_documented_refusal_checks_are_the_risk_checks() -> None:
    from mismarterad.core.risk import RiskCheck

    row = next(line for line in METRICS_DOC.read_text().splitlines()
               if line.startswith("| `mismarterad_risk_refusals_total`"))
    labels = row.split("|")[3].split("=", 1)[1]
    assert [name.strip() for name in labels.split(",")] == [check.value for check in RiskCheck]


def _label_values(metric: str) -> list[str]:
    row = next(line for line in METRICS_DOC.read_text().splitlines() if line.startswith(f"| `{metric}`"))
    labels = row.split("|")[3].split("=", 1)[1]
    return [name.strip() for name in labels.split(",")]


def test_the_documented_order_statuses_are_the_exported_ones() -> None:
    from mismarterad.core.orders import OrderStatus
    from mismarterad.daemon.metrics import STATUSES

    assert _label_values("mismarterad_session_orders") == list(STATUSES) == [s.value for s in OrderStatus]
    assert "new" not in STATUSES  # the brokers' word, an alias of accepted


def test_the_documented_reconciliation_kinds_are_the_mismatch_kinds() -> None:
    from mismarterad.core.reconciliation import MismatchKind

    assert _label_values("mismarterad_reconciliation_mismatches_total") == [kind.value for kind in MismatchKind]
