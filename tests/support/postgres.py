"""A real PostgreSQL for the tests: our own image where a Docker engine answers, else pgserver.

Each test database is a fresh ``CREATE DATABASE`` provisioned exactly as production is (one
owner and one runtime role per service, one schema each), so privilege mistakes fail here.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.config import testcontainers_config

from services.common.provision import ServiceRoles, ensure_database, provision
from services.localstack.postgres import EmbeddedPostgres, PostgresEndpoint
from tests.support.engine import TEST_LABELS, ContainerEngine, NoEngine

ROLE_PASSWORD = "trackcc-test-role"
# A throwaway server: durability is not what the tests measure, speed is.
MEMORY_DATA = "/run/trackcc-pgdata"  # not a folder of the image, whose mode a tmpfs would copy
_FAST_UNSAFE = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


@contextlib.contextmanager
def postgres_endpoint(
    work_dir: Path, engine: ContainerEngine | NoEngine
) -> Iterator[PostgresEndpoint]:
    """A running PostgreSQL server for the whole test session."""
    if isinstance(engine, ContainerEngine):
        with _container(engine) as endpoint:
            yield endpoint
        return
    embedded = EmbeddedPostgres(work_dir / "pgdata")
    try:
        yield embedded.endpoint
    finally:
        embedded.stop()


@contextlib.contextmanager
def _container(engine: ContainerEngine) -> Iterator[PostgresEndpoint]:
    # No registry here, so testcontainers' reaper image cannot be pulled; the `with` below
    # removes the container instead.
    testcontainers_config.ryuk_disabled = True
    container = (
        PostgresContainer(
            engine.images.postgres,
            username="postgres",
            password=secrets.token_urlsafe(18),
            dbname="postgres",
            driver=None,
            docker_client_kw={"timeout": 60},
        )
        .with_command(list(_FAST_UNSAFE))
        # The data lives in memory; initdb makes the sub-folder its own (the tmpfs is root's).
        .with_env("PGDATA", f"{MEMORY_DATA}/pg")
        .with_tmpfs_mount(MEMORY_DATA, "size=6g,mode=1777")
        .with_kwargs(labels=TEST_LABELS)
    )
    with container:
        yield PostgresEndpoint(
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(5432)),
            admin_user=container.username,
            admin_password=container.password,
        )


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

    async def connect(self, service: str, *, owner: bool = False) -> asyncpg.Connection:
        """A connection as the service's runtime role (or its schema's owner), in its schema:
        to look at or set up what is stored as the service would."""
        dsn = self.owner_dsn(service) if owner else self.runtime_dsn(service)
        return await asyncpg.connect(dsn, server_settings={"search_path": service})


async def drop_test_database(database: TestDatabase) -> None:
    """Drops it, ending any connection left behind: a run makes hundreds of databases, and
    the container keeps them in memory."""
    conn = await asyncpg.connect(database.endpoint.dsn("postgres"))
    try:
        statement = "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', $1::text)"
        await conn.execute(await conn.fetchval(statement, database.name))
    finally:
        await conn.close()


async def create_test_database(endpoint: PostgresEndpoint) -> TestDatabase:
    """A new, empty, provisioned database with a unique name."""
    name = "t_" + uuid.uuid4().hex[:12]
    await ensure_database(endpoint.dsn("postgres"), name)
    await provision(endpoint.dsn(name), name, password=ROLE_PASSWORD)
    return TestDatabase(endpoint, name)
