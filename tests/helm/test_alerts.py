"""Alert rules and the dashboard name only series that something really exports."""

from __future__ import annotations

import json

import pytest

from tests.support.helm_chart import CHART, FULLNAME, by_name, manifests
from tests.support.metrics import KUBE_STATE_METRICS, TARGET_LABELS, exported_series
from tests.support.promql import series_in

EXPECTED_ALERTS = {
    "TrackCCGatewayHighErrorRatio",
    "TrackCCGrpcHighErrorRatio",
    "TrackCCGatewayLatencyHigh",
    "TrackCCGrpcLatencyHigh",
    "TrackCCLockoutSpike",
    "TrackCCMailOutboxBacklog",
    "TrackCCBackupFailed",
    "TrackCCBackupLate",
    "TrackCCPodsRestarting",
}


def test_the_parser_finds_series_and_labels() -> None:
    expr = 'sum by (job) (rate(a_total{job="x", code=~"5.."}[5m])) / b_count > 0.5'
    assert series_in(expr) == {"a_total": {"job", "code"}, "b_count": set()}


def _known() -> dict[str, frozenset[str]]:
    return {**exported_series(), **KUBE_STATE_METRICS}


def _check(expr: str, where: str) -> None:
    known = _known()
    found = series_in(expr)
    assert found, f"{where}: no series in {expr!r}"
    for name, labels in found.items():
        assert name in known, f"{where}: {name} is not exported by anything we run"
        unknown = labels - known[name] - TARGET_LABELS
        assert not unknown, f"{where}: {name} has no label {unknown}"


@pytest.mark.parametrize("variant", ["default", "production"])
def test_rule_expressions_name_exported_series(variant: str) -> None:
    rule = by_name(manifests(variant), "PrometheusRule", FULLNAME)
    alerts = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert {a["alert"] for a in alerts} == EXPECTED_ALERTS
    for alert in alerts:
        _check(alert["expr"], alert["alert"])
        assert alert["labels"]["severity"] in {"warning", "critical"}
        anchor = alert["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert anchor == alert["alert"].lower()


def test_every_alert_has_a_runbook_section() -> None:
    runbook = (CHART.parent / "README.md").read_text()
    headings = {
        line.lstrip("#").strip().lower() for line in runbook.splitlines() if line.startswith("#")
    }
    for alert in EXPECTED_ALERTS:
        assert alert.lower() in headings, f"README.md has no section for {alert}"


def test_dashboard_queries_name_exported_series() -> None:
    configmap = by_name(manifests("default"), "ConfigMap", f"{FULLNAME}-dashboard")
    dashboard = json.loads(configmap["data"]["trackcc.json"])
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert exprs
    for expr in exprs:
        _check(expr.replace("$namespace", "x").replace("$release", "x"), expr)
