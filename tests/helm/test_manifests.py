"""Every rendered object is valid Kubernetes, and every workload is hardened and probed."""

from __future__ import annotations

from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.support.helm_chart import (
    COMPONENTS,
    FULLNAME,
    GRPC_COMPONENTS,
    KUBE_VERSIONS,
    NAMESPACE,
    RELEASE,
    Manifest,
    by_name,
    manifests,
    of_kind,
    parse,
    pod_specs,
    render_raw,
)

VARIANTS = ["default", "production"]

# Custom resources: kubernetes-validate knows built-in kinds only, so their group, version and
# required fields are checked here against the CRDs' documented schemas.
CRD_REQUIRED: dict[tuple[str, str], list[tuple[str, ...]]] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): [("spec", "selector"), ("spec", "endpoints")],
    ("monitoring.coreos.com/v1", "PrometheusRule"): [("spec", "groups")],
    ("cert-manager.io/v1", "Certificate"): [("spec", "secretName"), ("spec", "issuerRef", "name")],
    ("postgresql.cnpg.io/v1", "Cluster"): [("spec", "instances"), ("spec", "storage", "size")],
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): [
        ("spec", "schedule"),
        ("spec", "cluster", "name"),
    ],
}
LABEL_KEYS = {
    f"app.kubernetes.io/{key}"
    for key in ("name", "instance", "component", "part-of", "version", "managed-by")
}


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        assert isinstance(obj, dict) and key in obj, f"missing {'.'.join(path)}"
        obj = obj[key]
    return obj


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_is_valid(variant: str, version: str) -> None:
    objects = manifests(variant)
    assert objects
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"])
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if key in CRD_REQUIRED:
            assert obj["metadata"]["name"]
            for path in CRD_REQUIRED[key]:
                assert _dig(obj, path), f"{name}: empty {'.'.join(path)}"
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name} ({version}): {error.message} at {list(error.path)}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_unknown_custom_resources(variant: str) -> None:
    builtin_groups = ("v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2")
    for obj in manifests(variant):
        if obj["apiVersion"] in builtin_groups or obj["apiVersion"].startswith("networking.k8s"):
            continue
        assert (obj["apiVersion"], obj["kind"]) in CRD_REQUIRED, obj["kind"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_carries_the_recommended_labels(variant: str) -> None:
    for obj in manifests(variant):
        labels = obj["metadata"].get("labels", {})
        missing = LABEL_KEYS - set(labels)
        assert not missing, f"{obj['kind']}/{obj['metadata']['name']} lacks {missing}"
        assert labels["app.kubernetes.io/part-of"] == "trackcc"
        assert labels["app.kubernetes.io/instance"] == RELEASE


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_names_the_release_namespace(variant: str) -> None:
    # Never implied: applied without `-n`, an object would land in "default".
    for obj in manifests(variant):
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert obj["metadata"].get("namespace") == NAMESPACE, where


def _assert_restricted(name: str, pod: Manifest) -> None:
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True, name
    assert psc["runAsUser"] == 10001, name
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}, name
    assert pod["automountServiceAccountToken"] is False, name
    assert not pod.get("hostNetwork") and not pod.get("hostPID"), name
    mounts_tmp = False
    for container in pod.get("initContainers", []) + pod["containers"]:
        where = f"{name}/{container['name']}"
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, where
        assert sc["readOnlyRootFilesystem"] is True, where
        assert sc["capabilities"]["drop"] == ["ALL"], where
        assert "add" not in sc["capabilities"], where
        assert sc["runAsNonRoot"] is True, where
        assert sc.get("privileged", False) is False, where
        resources = container["resources"]
        for side in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[side]), f"{where}: {side}"
        mounts_tmp = mounts_tmp or any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])
    assert mounts_tmp, f"{name}: no writable /tmp"
    tmp = [v for v in pod["volumes"] if v["name"] == "tmp"]
    assert tmp and "emptyDir" in tmp[0], name


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_workload_is_restricted_and_bounded(variant: str) -> None:
    workloads = list(pod_specs(manifests(variant)))
    kinds = {name.split("/")[0] for name, _ in workloads}
    assert kinds == {"Deployment", "Job", "CronJob"}
    for name, pod in workloads:
        _assert_restricted(name, pod)


@pytest.mark.parametrize("variant", VARIANTS)
def test_grpc_services_use_native_grpc_probes_on_the_health_only_port(variant: str) -> None:
    objects = manifests(variant)
    for component in GRPC_COMPONENTS:
        deployment = by_name(objects, "Deployment", f"{FULLNAME}-{component}")
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        prefix = f"TRACKCC_{component.upper()}"
        ready_name = f"trackcc.{component}.v1.{component.capitalize()}Service"
        env = {e["name"]: e for e in container["env"]}
        health_port = int(env[f"{prefix}_HEALTH_LISTEN"]["value"].rpartition(":")[2])
        assert {"name": "health", "containerPort": health_port, "protocol": "TCP"} in container[
            "ports"
        ]
        assert container["livenessProbe"]["grpc"] == {"port": health_port, "service": ""}
        assert container["startupProbe"]["grpc"] == {"port": health_port, "service": ""}
        assert container["readinessProbe"]["grpc"] == {"port": health_port, "service": ready_name}
        # The data port stays mutual TLS; only health is plaintext.
        for suffix in ("LISTEN", "TLS_CERT", "TLS_KEY", "TLS_CA"):
            assert f"{prefix}_{suffix}" in env
        assert env[f"{prefix}_METRICS_LISTEN"]["value"] == "0.0.0.0:9464"


@pytest.mark.parametrize("variant", VARIANTS)
def test_gateway_probes_healthz_and_readyz_over_https(variant: str) -> None:
    deployment = by_name(manifests(variant), "Deployment", f"{FULLNAME}-gateway")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"] == {
        "path": "/healthz",
        "port": "https",
        "scheme": "HTTPS",
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert {"name": "https", "containerPort": 8443, "protocol": "TCP"} in container["ports"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_components_leave_their_service_before_they_drain(variant: str) -> None:
    """A preStop sleep keeps a terminating pod serving while endpoints drop it, and the grace
    period covers the sleep, the drain and a margin."""
    for component in ("gateway", "auth", "roster", "sharing"):
        pod = by_name(manifests(variant), "Deployment", f"{FULLNAME}-{component}")["spec"][
            "template"
        ]["spec"]
        (container,) = pod["containers"]
        sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert sleep >= 1
        drain = next(
            int(env["value"])
            for env in container["env"]
            if env["name"].endswith("_SHUTDOWN_GRACE_SECONDS")
        )
        assert pod["terminationGracePeriodSeconds"] > sleep + drain


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_component_has_service_hpa_pdb_spread_and_monitor(variant: str) -> None:
    objects = manifests(variant)
    for component in COMPONENTS:
        name = f"{FULLNAME}-{component}"
        deployment = by_name(objects, "Deployment", name)
        pod = deployment["spec"]["template"]["spec"]
        assert pod["topologySpreadConstraints"], name
        for constraint in pod["topologySpreadConstraints"]:
            selector = constraint["labelSelector"]["matchLabels"]
            assert selector["app.kubernetes.io/component"] == component
        hpa = by_name(objects, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        # With an HPA the Deployment must not fight it over replicas.
        assert "replicas" not in deployment["spec"]
        pdb = by_name(objects, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
        service = by_name(objects, "Service", name)
        assert {p["name"] for p in service["spec"]["ports"]} >= {"metrics"}
        monitor = by_name(objects, "ServiceMonitor", name)
        assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
        certificate = by_name(objects, "Certificate", name)
        # Services authorize callers by the certificate's SPIFFE ID (services/common/callers.py).
        assert certificate["spec"]["uris"] == [f"spiffe://trackcc/{component}"]
        assert certificate["spec"]["commonName"] == component
        assert "client auth" in certificate["spec"]["usages"]


def test_production_runs_three_replicas_behind_an_ingress() -> None:
    objects = manifests("production")
    for component in COMPONENTS:
        hpa = by_name(objects, "HorizontalPodAutoscaler", f"{FULLNAME}-{component}")
        assert hpa["spec"]["minReplicas"] == 3
    (ingress,) = of_kind(objects, "Ingress")
    assert ingress["spec"]["tls"][0]["secretName"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": f"{FULLNAME}-gateway", "port": {"name": "https"}}


def _gateway_env(objects: list[Manifest]) -> dict[str, str]:
    deployment = by_name(objects, "Deployment", f"{FULLNAME}-gateway")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_forwarded_headers_are_trusted_only_from_the_configured_proxies() -> None:
    # Never by default: without the variable the gateway believes no proxy header.
    assert "TRACKCC_GATEWAY_TRUSTED_PROXIES" not in _gateway_env(manifests("default"))
    production = _gateway_env(manifests("production"))
    assert production["TRACKCC_GATEWAY_TRUSTED_PROXIES"] == "10.244.0.0/16"
    several = {"gateway": {"trustedProxies": ["10.0.0.0/8", "fd00::/8"]}}
    rendered = _gateway_env(parse(render_raw(several)))
    assert rendered["TRACKCC_GATEWAY_TRUSTED_PROXIES"] == "10.0.0.0/8,fd00::/8"
    for component in GRPC_COMPONENTS:
        deployment = by_name(manifests("production"), "Deployment", f"{FULLNAME}-{component}")
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert all("TRUSTED_PROXIES" not in e["name"] for e in container["env"])


def test_loadbalancer_exposes_https_only() -> None:
    objects = parse(render_raw({"loadBalancer": {"enabled": True}}))
    public = by_name(objects, "Service", f"{FULLNAME}-gateway-public")
    assert public["spec"]["type"] == "LoadBalancer"
    assert [p["port"] for p in public["spec"]["ports"]] == [443]


@pytest.mark.parametrize("variant", VARIANTS)
def test_migrations_run_as_hooks(variant: str) -> None:
    objects = manifests(variant)
    jobs = {j["metadata"]["name"]: j for j in of_kind(objects, "Job")}
    assert set(jobs) == {f"{FULLNAME}-migrate-{svc}" for svc in GRPC_COMPONENTS}
    for svc in GRPC_COMPONENTS:
        job = jobs[f"{FULLNAME}-migrate-{svc}"]
        hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
        assert "pre-upgrade" in hooks
        # External PostgreSQL exists before install; the operator's is created by the release.
        assert ("post-install" if variant == "production" else "pre-install") in hooks
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", f"services.{svc}"]
        assert container["args"] == ["migrate"]
        # Their owner DSNs are mounted files: tests/helm/test_secrets.py.


@pytest.mark.parametrize("variant", VARIANTS)
def test_runtime_pods_never_hold_owner_credentials(variant: str) -> None:
    # The mounted Secrets are checked in tests/helm/test_secrets.py.
    for deployment in of_kind(manifests(variant), "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for env in container["env"]:
                assert "MIGRATE" not in env["name"]
                assert "_owner" not in str(env)


@pytest.mark.parametrize("variant", VARIANTS)
def test_backup_cronjob_dumps_in_custom_format_with_retention(variant: str) -> None:
    objects = manifests(variant)
    cronjob = by_name(objects, "CronJob", f"{FULLNAME}-backup")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (dump,) = pod["initContainers"]
    assert "pg_dump --format=custom" in dump["command"][-1]
    # trackcc-admin restore needs the grants and the append-only revokes inside the dump.
    assert "--no-privileges" not in dump["command"][-1]
    assert "--no-acl" not in dump["command"][-1]
    (after,) = pod["containers"]
    assert 'head -n "-${KEEP}"' in after["command"][-1]
    if variant == "production":
        assert after["name"] == "upload"
    else:
        assert after["name"] == "prune"
        claim = by_name(objects, "PersistentVolumeClaim", f"{FULLNAME}-backups")
        assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_operator_cluster_has_roles_schemas_and_scheduled_backups() -> None:
    objects = manifests("production")
    cluster = by_name(objects, "Cluster", f"{FULLNAME}-pg")
    assert cluster["spec"]["instances"] == 3
    roles = {r["name"] for r in cluster["spec"]["managed"]["roles"]}
    assert roles == {
        "trackcc_backup",
        *(f"trackcc_{s}" for s in GRPC_COMPONENTS),
        *(f"trackcc_{s}_owner" for s in GRPC_COMPONENTS),
    }
    sql = "\n".join(cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"])
    for svc in GRPC_COMPONENTS:
        assert f"CREATE SCHEMA IF NOT EXISTS {svc} AUTHORIZATION trackcc_{svc}_owner" in sql
    assert cluster["spec"]["backup"]["barmanObjectStore"]["destinationPath"]
    scheduled = by_name(objects, "ScheduledBackup", f"{FULLNAME}-pg-daily")
    assert len(scheduled["spec"]["schedule"].split()) == 6
    for role in roles:
        secret = by_name(objects, "Secret", f"{FULLNAME}-pg-{role.replace('_', '-')}")
        assert secret["type"] == "kubernetes.io/basic-auth"


def test_dashboard_is_labelled_for_the_grafana_sidecar() -> None:
    configmap = by_name(manifests("default"), "ConfigMap", f"{FULLNAME}-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "trackcc.json" in configmap["data"]
