"""Images by digest, and a pull policy that follows from how an image is named."""

from __future__ import annotations

import pytest

from tests.support.helm_chart import Manifest, manifests, parse, pod_specs, render_raw


def _containers(objects: list[Manifest]) -> list[tuple[str, Manifest]]:
    return [
        (f"{name}/{c['name']}", c)
        for name, pod in pod_specs(objects)
        for c in list(pod.get("initContainers", [])) + list(pod["containers"])
    ]


def test_production_runs_every_image_by_digest_without_a_registry_on_restart() -> None:
    containers = _containers(manifests("production"))
    # Components, migration Jobs and both backup containers.
    assert len(containers) == 9
    for where, container in containers:
        assert "@sha256:" in container["image"], where
        assert container["imagePullPolicy"] == "IfNotPresent", where


def test_images_by_tag_are_always_pulled() -> None:
    for where, container in _containers(manifests("default")):
        assert "@" not in container["image"], where
        assert container["imagePullPolicy"] == "Always", where


@pytest.mark.parametrize("policy", ["Always", "IfNotPresent", "Never"])
def test_an_explicit_pull_policy_wins(policy: str) -> None:
    objects = parse(render_raw({"image": {"pullPolicy": policy}}))
    assert {c["imagePullPolicy"] for _, c in _containers(objects)} == {policy}
