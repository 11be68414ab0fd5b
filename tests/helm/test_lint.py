"""`helm lint` and values.schema.json, through the Helm engine itself."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.support.helm_chart import CHART, PRODUCTION_VALUES, load_values, render_raw

ERROR = 3
WARNING = 2


@pytest.mark.parametrize("variant", ["default", "production"])
def test_lint_is_clean(variant: str) -> None:
    values = load_values(PRODUCTION_VALUES) if variant == "production" else None
    # strict: warnings count as errors, so the report must not hold any.
    report = helm.lint(CHART, values, strict=True, kube_version="v1.30.0")
    findings = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert findings == [], findings
    assert report["errors"] == []


BAD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"services": {"auth": {"replicas": "three"}}}, "/services/auth/replicas"),
    ({"services": {"auth": {"replica": 3}}}, "replica"),
    ({"services": {"billing": {}}}, "billing"),
    ({"logLevel": "LOUD"}, "/logLevel"),
    ({"publicUrl": "http://plain.example"}, "/publicUrl"),
    ({"backup": {"destination": "tape"}}, "/backup/destination"),
    ({"networkPolicy": {"enabled": "yes"}}, "/networkPolicy/enabled"),
    ({"metricsPort": 70000}, "/metricsPort"),
]


@pytest.mark.parametrize(("values", "where"), BAD_VALUES)
def test_schema_rejects_a_bad_value_in_lint(values: dict[str, Any], where: str) -> None:
    report = helm.lint(CHART, values)
    errors = [m["error"] for m in report["messages"] if m["severity"] == ERROR]
    assert errors, f"lint accepted {values}"
    assert any(where in error for error in errors), errors


@pytest.mark.parametrize(("values", "where"), BAD_VALUES[:2])
def test_schema_rejects_a_bad_value_in_template(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmError, match="schema") as raised:
        render_raw(values)
    assert where in str(raised.value)


def test_missing_required_secret_material_fails_clearly() -> None:
    # Without an existing Secret the chart needs the DSNs themselves, and says which.
    with pytest.raises(helm.HelmError, match=r"postgresql\.external\.urls\.auth"):
        render_raw({"postgresql": {"external": {"existingSecret": ""}}})
