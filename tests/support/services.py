"""Starts real gRPC services in the test process: real TLS, real PostgreSQL, port 0."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from services.common.config import Env
from services.common.devcerts import DevPki
from services.common.service_main import ServiceDefinition, running_service
from services.common.tls import GrpcTarget, secure_channel
from services.common.tokens import generate_signing_key, jwks_document, load_signing_keys
from tests.support.postgres import TestDatabase


@dataclass(frozen=True)
class JwtKeys:
    """A signing key directory and the JWK set file that verifiers read."""

    keys_dir: Path
    jwks_file: Path


def make_jwt_keys(directory: Path) -> JwtKeys:
    """One fresh Ed25519 key and its public JWK set."""
    keys_dir = directory / "jwt"
    generate_signing_key(keys_dir)
    jwks_file = directory / "jwks.json"
    jwks_file.write_text(json.dumps(jwks_document(load_signing_keys(keys_dir))))
    return JwtKeys(keys_dir, jwks_file)


# Short enough that the waits after revocations keep the suite quick, long enough to be real.
TEST_DECISION_LEASE_SECONDS = "0.3"


def service_env(
    definition: ServiceDefinition,
    database: TestDatabase,
    pki: DevPki,
    jwt_keys: JwtKeys,
    extra: Mapping[str, str] | None = None,
) -> Env:
    """The environment a service gets in tests: free ports, test DSNs, test certificates."""
    prefix = definition.env_prefix
    tls = pki.leaf(definition.name)
    values = {
        f"{prefix}_LISTEN": "127.0.0.1:0",
        f"{prefix}_METRICS_LISTEN": "127.0.0.1:0",
        f"{prefix}_TLS_CERT": str(tls.cert),
        f"{prefix}_TLS_KEY": str(tls.key),
        f"{prefix}_TLS_CA": str(tls.ca),
        f"{prefix}_DATABASE_URL": database.runtime_dsn(definition.name),
        f"{prefix}_MIGRATE_DATABASE_URL": database.owner_dsn(definition.name),
        f"{prefix}_SHUTDOWN_GRACE_SECONDS": "1",
        f"{prefix}_READINESS_INTERVAL_SECONDS": "0.2",
        f"{prefix}_DB_POOL_MIN_SIZE": "1",
        "TRACKCC_JWT_JWKS_FILE": str(jwt_keys.jwks_file),
        "TRACKCC_AUTH_JWT_KEYS_DIR": str(jwt_keys.keys_dir),
        "TRACKCC_LOG_LEVEL": "WARNING",
    }
    if prefix == "TRACKCC_SHARING":
        # Real decision leases, short: every revocation waits them out (decision_leases.py).
        values["TRACKCC_SHARING_DECISION_LEASE_SECONDS"] = TEST_DECISION_LEASE_SECONDS
    values.update(extra or {})
    return Env(with_server_names(values))


def with_server_names(values: Mapping[str, str]) -> dict[str, str]:
    """``values`` plus ``TRACKCC_<CALLER>_<CALLEE>_SERVER_NAME=<callee>`` for every target not
    named already: tests reach services on loopback, and a service's leaf names only its
    component (services/common/devcerts.py)."""
    named = dict(values)
    for key in values:
        if key.endswith("_TARGET"):
            callee = key.removesuffix("_TARGET").rsplit("_", 1)[-1].lower()
            named.setdefault(key.removesuffix("_TARGET") + "_SERVER_NAME", callee)
    return named


@dataclass(frozen=True)
class StartedService:
    """A service running in this process."""

    name: str
    port: int
    metrics_port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def grpc_target(self) -> GrpcTarget:
        """The target with the name its certificate carries."""
        return GrpcTarget(self.target, self.name)


@contextlib.asynccontextmanager
async def started_service(definition: ServiceDefinition, env: Env) -> AsyncIterator[StartedService]:
    """Runs the service until the block exits."""
    async with running_service(definition, env) as (port, metrics_port):
        yield StartedService(definition.name, port, metrics_port)


@contextlib.asynccontextmanager
async def client_channel(
    service: StartedService, pki: DevPki, as_name: str = "gateway"
) -> AsyncIterator[grpc.aio.Channel]:
    """An mTLS channel presenting ``as_name``'s certificate (the gateway by default)."""
    channel = secure_channel(service.grpc_target, pki.leaf(as_name))
    try:
        yield channel
    finally:
        await channel.close()
