"""Rendering the chart with the real Helm engine (helm-python-sdk, no cluster, no network)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "trackcc"
PRODUCTION_VALUES = CHART / "ci" / "production-values.yaml"
RELEASE = "demo"
NAMESPACE = "trackcc"
FULLNAME = f"{RELEASE}-trackcc"
COMPONENTS = ("gateway", "auth", "roster", "sharing")
GRPC_COMPONENTS = ("auth", "roster", "sharing")
# Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas known.
KUBE_VERSIONS = ("1.30.0", "1.37.0")

Manifest = dict[str, Any]


def load_values(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def render_raw(values: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` would print it."""
    with helm.Chart.load(CHART) as chart:
        return chart.render(
            dict(values) if values is not None else None,
            name=RELEASE,
            namespace=NAMESPACE,
            is_install=True,
        )


def parse(rendered: Mapping[str, str]) -> list[Manifest]:
    """Every object of every template; NOTES.txt and empty documents left out."""
    objects: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                assert isinstance(document, dict), f"{path}: not a mapping"
                objects.append(document)
    return objects


@functools.cache
def _rendered(variant: str) -> tuple[Manifest, ...]:
    values = load_values(PRODUCTION_VALUES) if variant == "production" else None
    return tuple(parse(render_raw(values)))


def manifests(variant: str) -> list[Manifest]:
    """The objects of the default ("default") or the production ("production") values."""
    return list(_rendered(variant))


def of_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objects if o["kind"] == kind]


def by_name(objects: list[Manifest], kind: str, name: str) -> Manifest:
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def pod_specs(objects: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """(kind/name, pod spec) of every workload: Deployments, Jobs and CronJobs."""
    for o in objects:
        name = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] in ("Deployment", "Job"):
            yield name, o["spec"]["template"]["spec"]
        elif o["kind"] == "CronJob":
            yield name, o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
