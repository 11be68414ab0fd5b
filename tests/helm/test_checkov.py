"""The rendered chart, as an outside scanner sees it: checkov's Kubernetes checks.

checkov runs from its own virtual environment (``make tools`` puts it in ``.tools/checkov``;
it needs an older ``packaging`` than the project). It reads exactly what the Helm engine
renders (tests/support/helm_chart.py), one file per template, for both value sets. A failed
check passes the test only when deploy/helm/checkov-exceptions.yaml lists it for that value
set with its reason; a listed exception that no longer fires fails the test as well.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.helm_chart import (
    PRODUCTION_VALUES,
    REPO,
    load_values,
    manifests,
    render_raw,
)

CHECKOV = REPO / ".tools" / "checkov" / "bin" / "checkov"
EXCEPTIONS = REPO / "deploy" / "helm" / "checkov-exceptions.yaml"
VARIANTS = ["default", "production"]


@dataclass(frozen=True)
class Finding:
    check: str
    title: str
    resource: str
    file: str

    def __str__(self) -> str:
        return f"{self.check} ({self.title}): {self.resource} in {self.file}"


@dataclass(frozen=True)
class Scan:
    variant: str
    failed: list[Finding]
    summary: dict[str, Any]
    # Every resource checkov ran a check on, named as it names them: Kind.namespace.name.
    checked: set[str]


def _exceptions() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(EXCEPTIONS.read_text())
    assert isinstance(loaded, list)
    for entry in loaded:
        assert set(entry) == {"check", "title", "values", "reason"}, entry
        assert set(entry["values"]) <= set(VARIANTS), entry
        assert len(entry["reason"].split()) >= 10, f"{entry['check']}: give a real reason"
    return loaded


def _write_render(variant: str, directory: Path) -> None:
    values = load_values(PRODUCTION_VALUES) if variant == "production" else None
    for template, text in render_raw(values).items():
        if template.endswith("NOTES.txt") or not text.strip():
            continue
        (directory / template.replace("/", "_")).write_text(text)


def _run_checkov(directory: Path) -> dict[str, Any]:
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: run `make tools`"
    # No network: nothing from Prisma Cloud, no look for a newer checkov on PyPI.
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(directory),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    # 0: nothing failed, 1: something did; anything else is checkov itself failing.
    assert result.returncode in (0, 1), result.stderr[-4000:]
    document = json.loads(result.stdout)
    # One framework gives one report object; several would give a list of them.
    report = document[0] if isinstance(document, list) else document
    assert isinstance(report, dict) and report.get("check_type") == "kubernetes", result.stdout[
        :2000
    ]
    return report


@pytest.fixture(scope="module", params=VARIANTS)
def scan(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    variant: str = request.param
    directory = tmp_path_factory.mktemp(f"checkov-{variant}")
    _write_render(variant, directory)
    report = _run_checkov(directory)
    failed = [
        Finding(f["check_id"], f["check_name"], f["resource"], f["file_path"].lstrip("/"))
        for f in report["results"]["failed_checks"]
    ]
    results = report["results"]
    checked = {f["resource"] for f in results["passed_checks"] + results["failed_checks"]}
    return Scan(variant, failed, report["summary"], checked)


def test_checkov_reads_every_rendered_object(scan: Scan) -> None:
    # An object checkov cannot parse is not scanned, and would otherwise pass unnoticed.
    assert scan.summary["parsing_errors"] == 0, scan.summary
    # checkov has no checks for custom resources; every workload must have been checked.
    workloads = {
        f"{o['kind']}.{o['metadata'].get('namespace', 'default')}.{o['metadata']['name']}"
        for o in manifests(scan.variant)
        if o["kind"] in ("Deployment", "Job", "CronJob")
    }
    assert workloads and sorted(workloads - scan.checked) == []


def test_checkov_finds_nothing_but_the_documented_exceptions(scan: Scan) -> None:
    accepted = {e["check"] for e in _exceptions() if scan.variant in e["values"]}
    unexpected = [str(f) for f in scan.failed if f.check not in accepted]
    assert unexpected == [], f"{scan.variant} values:\n" + "\n".join(sorted(unexpected))


def test_every_documented_exception_still_fires(scan: Scan) -> None:
    fired = {f.check for f in scan.failed}
    stale = [
        e["check"] for e in _exceptions() if scan.variant in e["values"] and e["check"] not in fired
    ]
    assert stale == [], (
        f"{scan.variant} values: no longer found, remove them from {EXCEPTIONS.name} "
        f"and deploy/helm/README.md: {stale}"
    )


def test_every_exception_is_explained_in_the_runbook() -> None:
    runbook = (REPO / "deploy" / "helm" / "README.md").read_text()
    missing = [e["check"] for e in _exceptions() if e["check"] not in runbook]
    assert missing == [], missing
