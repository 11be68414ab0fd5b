"""Secrets reach pods as read-only mounted files, never as environment variables.

An environment variable shows in the pod spec and in every child process; the services read
``NAME_FILE`` instead (services/common/config.py), the backup scripts ``cat`` their files.
"""

from __future__ import annotations

import posixpath
from typing import Any

import pytest

from tests.support.helm_chart import (
    COMPONENTS,
    FULLNAME,
    GRPC_COMPONENTS,
    NAMESPACE,
    Manifest,
    by_name,
    manifests,
    parse,
    pod_specs,
    render_raw,
)

VARIANTS = ["default", "production"]
SMTP_SENDERS = ("auth", "sharing")


def _containers(pod: Manifest) -> list[Manifest]:
    return list(pod.get("initContainers", [])) + list(pod["containers"])


def _env(container: Manifest) -> dict[str, Any]:
    return {e["name"]: e for e in container.get("env", [])}


def _secret_file(pod: Manifest, container: Manifest, path: str) -> tuple[str, str]:
    """(Secret name, key) of the file at ``path``, which a read-only Secret volume provides."""
    directory, filename = posixpath.split(path)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == directory]
    assert mount.get("readOnly") is True, mount
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    secret = volume["secret"]
    # Group-readable only: the pod's fsGroup is the user's group.
    assert secret["defaultMode"] == 0o440, volume
    (item,) = [i for i in secret["items"] if i["path"] == filename]
    return secret["secretName"], item["key"]


def _file_of(pod: Manifest, container: Manifest, name: str) -> tuple[str, str]:
    """The Secret key a container reads for setting ``name``, through ``name``_FILE."""
    env = _env(container)
    assert name not in env, f"{container['name']}: {name} given as a variable"
    return _secret_file(pod, container, env[f"{name}_FILE"]["value"])


def _deployment_pod(objects: list[Manifest], component: str) -> tuple[Manifest, Manifest]:
    pod = by_name(objects, "Deployment", f"{FULLNAME}-{component}")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def _dsn_secret(variant: str, role: str, external_key: str) -> tuple[str, str]:
    if variant == "production":  # the operator's role Secrets hold the whole DSN as `uri`
        return f"{FULLNAME}-pg-{role.replace('_', '-')}", "uri"
    return "trackcc-database", external_key


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_is_an_environment_variable(variant: str) -> None:
    for name, pod in pod_specs(manifests(variant)):
        for container in _containers(pod):
            where = f"{name}/{container['name']}"
            for env in container.get("env", []):
                assert "secretKeyRef" not in env.get("valueFrom", {}), f"{where}: {env['name']}"
            assert all("secretRef" not in source for source in container.get("envFrom", [])), where


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_service_reads_its_own_runtime_dsn_from_a_file(variant: str) -> None:
    objects = manifests(variant)
    for svc in GRPC_COMPONENTS:
        pod, container = _deployment_pod(objects, svc)
        found = _file_of(pod, container, f"TRACKCC_{svc.upper()}_DATABASE_URL")
        assert found == _dsn_secret(variant, f"trackcc_{svc}", f"{svc}-url")
    pod, container = _deployment_pod(objects, "gateway")
    assert not any("DATABASE_URL" in name for name in _env(container))
    assert all(v["name"] != "database" for v in pod["volumes"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_runtime_pods_never_mount_owner_credentials(variant: str) -> None:
    objects = manifests(variant)
    for component in COMPONENTS:
        pod, _ = _deployment_pod(objects, component)
        for volume in pod["volumes"]:
            secret = volume.get("secret", {})
            assert not secret.get("secretName", "").endswith("-owner"), volume
            assert all("migrate" not in item["key"] for item in secret.get("items", [])), volume


@pytest.mark.parametrize("variant", VARIANTS)
def test_migrations_read_the_owner_dsn_from_a_file(variant: str) -> None:
    objects = manifests(variant)
    for svc in GRPC_COMPONENTS:
        job = by_name(objects, "Job", f"{FULLNAME}-migrate-{svc}")
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        found = _file_of(pod, container, f"TRACKCC_{svc.upper()}_MIGRATE_DATABASE_URL")
        assert found == _dsn_secret(variant, f"trackcc_{svc}_owner", f"{svc}-migrate-url")


@pytest.mark.parametrize("variant", VARIANTS)
def test_backup_reads_its_dsn_and_bucket_credentials_from_files(variant: str) -> None:
    cronjob = by_name(manifests(variant), "CronJob", f"{FULLNAME}-backup")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (dump,) = pod["initContainers"]
    assert _file_of(pod, dump, "DATABASE_URL") == _dsn_secret(
        variant, "trackcc_backup", "backup-url"
    )
    assert 'dsn="$(cat "$DATABASE_URL_FILE")"' in dump["command"][-1]
    assert '--dbname="$dsn"' in dump["command"][-1]
    if variant == "production":
        (upload,) = pod["containers"]
        script = upload["command"][-1]
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            path = f"/etc/trackcc/s3/{key}"
            assert _secret_file(pod, upload, path) == ("trackcc-dumps-s3", key)
            assert f'{key}="$(cat {path})"' in script
            assert key not in _env(upload)


def test_smtp_credentials_are_files_in_the_pods_that_send_mail() -> None:
    objects = manifests("production")  # smtp.existingSecret: trackcc-smtp
    for component in COMPONENTS:
        pod, container = _deployment_pod(objects, component)
        if component in SMTP_SENDERS:
            assert _file_of(pod, container, "TRACKCC_SMTP_USERNAME") == ("trackcc-smtp", "username")
            assert _file_of(pod, container, "TRACKCC_SMTP_PASSWORD") == ("trackcc-smtp", "password")
        else:
            assert all(v["name"] != "smtp" for v in pod["volumes"]), component


def test_smtp_credentials_from_values_are_files_of_the_charts_secret() -> None:
    objects = parse(render_raw({"smtp": {"username": "mailer", "password": "p4ss"}}))
    secret = by_name(objects, "Secret", f"{FULLNAME}-smtp")
    assert secret["stringData"] == {"username": "mailer", "password": "p4ss"}
    pod, container = _deployment_pod(objects, "auth")
    assert _file_of(pod, container, "TRACKCC_SMTP_PASSWORD") == (f"{FULLNAME}-smtp", "password")


def test_without_smtp_credentials_nothing_is_mounted() -> None:
    for component in SMTP_SENDERS:
        pod, container = _deployment_pod(manifests("default"), component)
        assert not any(name.startswith("TRACKCC_SMTP_USER") for name in _env(container))
        assert not any(name.startswith("TRACKCC_SMTP_PASS") for name in _env(container))
        assert all(v["name"] != "smtp" for v in pod["volumes"])


def test_operator_role_secrets_hold_the_whole_dsn() -> None:
    objects = manifests("production")
    roles = ["trackcc_backup"] + [
        f"trackcc_{svc}{suffix}" for svc in GRPC_COMPONENTS for suffix in ("", "_owner")
    ]
    for role in roles:
        secret = by_name(objects, "Secret", f"{FULLNAME}-pg-{role.replace('_', '-')}")
        data = secret["stringData"]
        assert data["uri"] == (
            f"postgresql://{role}:{data['password']}@{FULLNAME}-pg-rw.{NAMESPACE}.svc:5432/"
            "trackcc?sslmode=verify-full&sslrootcert=/etc/trackcc/pg-ca/ca.crt"
        )
