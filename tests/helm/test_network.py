"""NetworkPolicies allow exactly docs/architecture.md's call graph, plus the declared externals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.helm_chart import (
    COMPONENTS,
    FULLNAME,
    RELEASE,
    Manifest,
    by_name,
    manifests,
    of_kind,
    parse,
    render_raw,
)

# docs/architecture.md, "The call graph": gateway -> auth, roster, sharing; roster -> sharing;
# auth -> roster and sharing (purge). Written out here, not read from values, so a changed
# default fails this test.
CALL_GRAPH = {
    ("gateway", "auth"),
    ("gateway", "roster"),
    ("gateway", "sharing"),
    ("roster", "sharing"),
    ("auth", "roster"),
    ("auth", "sharing"),
}
PORTS = {"gateway": 8443, "auth": 50051, "roster": 50052, "sharing": 50053}
VARIANTS = ["default", "production"]


def _component(peer: dict[str, Any]) -> str | None:
    """The TrackCC component a same-namespace pod selector names, else None."""
    if "namespaceSelector" in peer or "ipBlock" in peer:
        return None
    labels = peer.get("podSelector", {}).get("matchLabels", {})
    if labels.get("app.kubernetes.io/instance") != RELEASE:
        return None
    component = labels.get("app.kubernetes.io/component")
    return component if component in COMPONENTS else None


def _ports(rule: dict[str, Any]) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


def _policy_of(objects: list[Manifest], component: str) -> Manifest:
    return by_name(objects, "NetworkPolicy", f"{FULLNAME}-{component}")


def _edges(objects: list[Manifest]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(edges allowed by the callers' egress, edges allowed by the callees' ingress)."""
    egress: set[tuple[str, str]] = set()
    ingress: set[tuple[str, str]] = set()
    for component in COMPONENTS:
        spec = _policy_of(objects, component)["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        for rule in spec["egress"]:
            for peer in rule.get("to", []):
                callee = _component(peer)
                if callee is not None:
                    assert _ports(rule) == {PORTS[callee]}, (component, callee)
                    egress.add((component, callee))
        for rule in spec["ingress"]:
            for peer in rule.get("from", []):
                caller = _component(peer)
                if caller is not None:
                    assert _ports(rule) == {PORTS[component]}, (caller, component)
                    ingress.add((caller, component))
    return egress, ingress


@pytest.mark.parametrize("variant", VARIANTS)
def test_policies_allow_exactly_the_call_graph(variant: str) -> None:
    egress, ingress = _edges(manifests(variant))
    assert egress == CALL_GRAPH
    assert ingress == CALL_GRAPH


@pytest.mark.parametrize("variant", VARIANTS)
def test_default_deny_covers_every_pod_of_the_release(variant: str) -> None:
    objects = manifests(variant)
    deny = by_name(objects, "NetworkPolicy", f"{FULLNAME}-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    selector = deny["spec"]["podSelector"]["matchLabels"]
    templates = [d["spec"]["template"] for d in of_kind(objects, "Deployment")]
    templates += [j["spec"]["template"] for j in of_kind(objects, "Job")]
    templates += [c["spec"]["jobTemplate"]["spec"]["template"] for c in of_kind(objects, "CronJob")]
    for template in templates:
        labels = template["metadata"]["labels"]
        assert selector.items() <= labels.items()
        # ... and each has a policy of its own that selects it.
        component = labels["app.kubernetes.io/component"]
        own = by_name(objects, "NetworkPolicy", f"{FULLNAME}-{component}")
        assert own["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def _other_rules(policy: Manifest, direction: str) -> list[dict[str, Any]]:
    """Rules that are not component-to-component edges."""
    key = "to" if direction == "egress" else "from"
    return [
        rule
        for rule in policy["spec"][direction]
        if not any(_component(peer) for peer in rule.get(key, []))
    ]


@pytest.mark.parametrize("variant", VARIANTS)
def test_external_paths_are_dns_postgres_smtp_and_scraping_only(variant: str) -> None:
    objects = manifests(variant)
    smtp_port = 587 if variant == "production" else 25
    expected_egress = {
        "gateway": [{53}],
        "auth": [{53}, {5432}, {smtp_port}],
        "roster": [{53}, {5432}],
        "sharing": [{53}, {5432}, {smtp_port}],
    }
    for component in COMPONENTS:
        policy = _policy_of(objects, component)
        egress = [_ports(rule) for rule in _other_rules(policy, "egress")]
        assert egress == expected_egress[component], component
        ingress = [_ports(rule) for rule in _other_rules(policy, "ingress")]
        if component == "gateway":
            assert ingress == [{8443}, {9464}]
        else:
            assert ingress == [{9464}], component
    for rule in _other_rules(_policy_of(objects, "auth"), "egress"):
        if _ports(rule) == {5432} and variant == "production":
            # Operator mode: only the CloudNativePG pods of this release.
            (peer,) = rule["to"]
            assert peer == {"podSelector": {"matchLabels": {"cnpg.io/cluster": f"{FULLNAME}-pg"}}}


def test_gateway_ingress_comes_from_the_ingress_controller_unless_load_balanced() -> None:
    policy = _policy_of(manifests("default"), "gateway")
    first = policy["spec"]["ingress"][0]
    assert _ports(first) == {8443}
    assert first["from"][0]["namespaceSelector"]
    objects = parse(render_raw({"loadBalancer": {"enabled": True}}))
    first = _policy_of(objects, "gateway")["spec"]["ingress"][0]
    # A LoadBalancer brings clients from anywhere, to the HTTPS port only.
    assert _ports(first) == {8443} and "from" not in first


@pytest.mark.parametrize("variant", VARIANTS)
def test_migration_and_backup_pods_reach_only_dns_postgres_and_storage(variant: str) -> None:
    objects = manifests(variant)
    migrate = by_name(objects, "NetworkPolicy", f"{FULLNAME}-migrate")
    assert "ingress" not in migrate["spec"]
    assert [_ports(r) for r in migrate["spec"]["egress"]] == [{53}, {5432}]
    backup = by_name(objects, "NetworkPolicy", f"{FULLNAME}-backup")
    expected = [{53}, {5432}, {443}] if variant == "production" else [{53}, {5432}]
    assert [_ports(r) for r in backup["spec"]["egress"]] == expected
