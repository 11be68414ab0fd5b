"""A real PostgreSQL for the tests: testcontainers where a Docker engine answers, else pgserver.

Each test database is a fresh ``CREATE DATABASE`` provisioned exactly as production is (one
owner and one runtime role per service, one schema each), so privilege mistakes fail here.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.common.provision import ServiceRoles, ensure_database, provision
from services.localstack.postgres import EmbeddedPostgres, PostgresEndpoint

ROLE_PASSWORD = "trackcc-test-role"


def _docker_answers() -> bool:
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    import docker

    try:
        client = docker.from_env(timeout=3)
    except Exception:  # noqa: BLE001 - any failure means: no engine, use pgserver
        return False
    try:
        client.ping()
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()
    return True


@contextlib.contextmanager
def postgres_endpoint(work_dir: Path) -> Iterator[PostgresEndpoint]:
    """A running PostgreSQL server for the whole test session."""
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield PostgresEndpoint(
                host=container.get_container_host_ip(),
                port=int(container.get_exposed_port(5432)),
                admin_user=container.username,
                admin_password=container.password,
            )
        return
    embedded = EmbeddedPostgres(work_dir / "pgdata")
    try:
        yield embedded.endpoint
    finally:
        embedded.stop()


@dataclass(frozen=True)
class TestDatabase:
    """A provisioned database and the DSNs each service would use."""

    endpoint: PostgresEndpoint
    name: str

    __test__ = False  # not a test class, despite the name

    def runtime_dsn(self, service: str) -> str:
        return self.endpoint.dsn(self.name, ServiceRoles(service).runtime, ROLE_PASSWORD)

    def owner_dsn(self, service: str) -> str:
        return self.endpoint.dsn(self.name, ServiceRoles(service).owner, ROLE_PASSWORD)

    def admin_dsn(self) -> str:
        return self.endpoint.dsn(self.name)


async def create_test_database(endpoint: PostgresEndpoint) -> TestDatabase:
    """A new, empty, provisioned database with a unique name."""
    name = "t_" + uuid.uuid4().hex[:12]
    await ensure_database(endpoint.dsn("postgres"), name)
    await provision(endpoint.dsn(name), name, password=ROLE_PASSWORD)
    return TestDatabase(endpoint, name)
