"""The processes of the stack and the environment each one gets (their configuration contract).

Every component is configured only by environment variables, exactly as in Kubernetes; this
module is the local equivalent of the Helm chart's Deployment templates.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.common.devcerts import DevPki
from services.localstack.database import LocalDatabase
from services.localstack.layout import DataLayout
from services.localstack.ports import LOOPBACK
from services.localstack.settings import StackSettings
from services.localstack.supervisor import ChildSpec, python_module

SERVICES = ("auth", "roster", "sharing")

ENV_PREFIX = {"auth": "TRACKCC_AUTH", "roster": "TRACKCC_ROSTER", "sharing": "TRACKCC_SHARING"}

CALLEES: Mapping[str, tuple[str, ...]] = {
    "auth": ("roster", "sharing"),
    "roster": ("sharing",),
    "sharing": (),
}

# The names each service reports as SERVING in grpc.health.v1 once its database answers.
HEALTH_NAME = {
    "auth": "trackcc.auth.v1.AuthService",
    "roster": "trackcc.roster.v1.RosterService",
    "sharing": "trackcc.sharing.v1.SharingService",
}

# Never handed to a child: the administrator's DSN is for provisioning only, and services log
# in as their own roles.
_WITHHELD = ("DATABASE_URL",)


@dataclass(frozen=True)
class Ports:
    """The loopback ports of one component."""

    grpc: int
    metrics: int


@dataclass(frozen=True)
class Wiring:
    """What every component needs to find the others."""

    settings: StackSettings
    layout: DataLayout
    pki: DevPki
    database: LocalDatabase
    service_ports: Mapping[str, Ports]
    smtp_port: int
    # The local stack runs everything on loopback; tests/support/container_stack.py runs the
    # same components as containers, each listening on all addresses of its own network
    # namespace and reached by its name.
    listen_host: str = LOOPBACK
    smtp_host: str = LOOPBACK
    service_hosts: Mapping[str, str] | None = None

    def target(self, service: str) -> str:
        host = (self.service_hosts or {}).get(service, LOOPBACK)
        return f"{host}:{self.service_ports[service].grpc}"

    def target_environment(self, prefix: str, service: str) -> dict[str, str]:
        """``<prefix>_<SERVICE>_TARGET`` and the name its certificate carries: a service's
        leaf names the component (services/common/devcerts.py), not the loopback address."""
        return {
            f"{prefix}_{service.upper()}_TARGET": self.target(service),
            f"{prefix}_{service.upper()}_SERVER_NAME": service,
        }


def _inherited() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in _WITHHELD}


def _shared(wiring: Wiring) -> dict[str, str]:
    shared = {
        "TRACKCC_LOG_LEVEL": wiring.settings.log_level,
        "TRACKCC_JWT_JWKS_FILE": str(wiring.layout.jwks),
        "TRACKCC_PUBLIC_URL": wiring.settings.public_url,
        "TRACKCC_SMTP_HOST": wiring.smtp_host,
        "TRACKCC_SMTP_PORT": str(wiring.smtp_port),
    }
    if wiring.settings.rate_limit_per_minute is not None:
        shared["TRACKCC_RATE_LIMIT_PER_MINUTE"] = str(wiring.settings.rate_limit_per_minute)
    return shared


def service_spec(service: str, wiring: Wiring) -> ChildSpec:
    """``python -m services.<service>``: migrates its schema at start, then serves mTLS gRPC."""
    env = _inherited()
    env.update(service_environment(service, wiring))
    return ChildSpec(service, python_module(f"services.{service}"), env)


def service_environment(service: str, wiring: Wiring) -> dict[str, str]:
    """The variables that configure one service (its whole configuration)."""
    prefix = ENV_PREFIX[service]
    ports = wiring.service_ports[service]
    tls = wiring.pki.leaf(service)
    env = _shared(wiring)
    env.update(
        {
            f"{prefix}_LISTEN": f"{wiring.listen_host}:{ports.grpc}",
            f"{prefix}_METRICS_LISTEN": f"{wiring.listen_host}:{ports.metrics}",
            f"{prefix}_TLS_CERT": str(tls.cert),
            f"{prefix}_TLS_KEY": str(tls.key),
            f"{prefix}_TLS_CA": str(tls.ca),
            f"{prefix}_DATABASE_URL": wiring.database.runtime_dsn(service),
            f"{prefix}_MIGRATE_DATABASE_URL": wiring.database.owner_dsn(service),
            # A developer waits for Ctrl-C; in-flight calls on a laptop finish well within this.
            f"{prefix}_SHUTDOWN_GRACE_SECONDS": "3",
            # Readiness is what start-up waits for, so it is checked often.
            f"{prefix}_READINESS_INTERVAL_SECONDS": "1",
        }
    )
    # The call graph of docs/architecture.md: roster asks sharing; auth purges in both.
    for callee in CALLEES[service]:
        env.update(wiring.target_environment(prefix, callee))
    if service == "auth":
        env["TRACKCC_AUTH_JWT_KEYS_DIR"] = str(wiring.layout.jwt_keys)
    return env


def gateway_spec(wiring: Wiring) -> ChildSpec:
    """``python -m services.gateway``: the public HTTPS port, an mTLS client of each service."""
    env = _inherited()
    env.update(gateway_environment(wiring))
    return ChildSpec("gateway", python_module("services.gateway"), env)


def gateway_environment(wiring: Wiring) -> dict[str, str]:
    """The variables that configure the gateway (its whole configuration)."""
    prefix = "TRACKCC_GATEWAY"
    tls = wiring.pki.leaf("gateway")
    env = _shared(wiring)
    env.update(
        {
            f"{prefix}_LISTEN": f"{wiring.listen_host}:{wiring.settings.https_port}",
            f"{prefix}_METRICS_LISTEN": f"{wiring.listen_host}:{wiring.settings.metrics_port}",
            f"{prefix}_HTTPS_CERT": str(tls.cert),
            f"{prefix}_HTTPS_KEY": str(tls.key),
            f"{prefix}_TLS_CERT": str(tls.cert),
            f"{prefix}_TLS_KEY": str(tls.key),
            f"{prefix}_TLS_CA": str(tls.ca),
        }
    )
    for service in ("auth", "roster", "sharing"):
        env.update(wiring.target_environment(prefix, service))
    return env
