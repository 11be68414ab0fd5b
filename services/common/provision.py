"""Creates the database, schemas and roles that the services log in as.

Run once per environment with a superuser (the local stack and the tests do it themselves;
in Kubernetes the SRE or the PostgreSQL operator does). For each service ``svc``:

- ``trackcc_svc_owner`` owns schema ``svc`` and runs its migrations;
- ``trackcc_svc`` is the runtime role: data privileges on that schema's tables and nothing
  else, so a service can neither read another's tables nor change its own structure, and a
  migration can take rights away from it (an append-only audit table).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

SERVICES = ("auth", "roster", "sharing")


@dataclass(frozen=True)
class ServiceRoles:
    """Role names of one service."""

    service: str

    @property
    def schema(self) -> str:
        return self.service

    @property
    def owner(self) -> str:
        return f"trackcc_{self.service}_owner"

    @property
    def runtime(self) -> str:
        return f"trackcc_{self.service}"


async def _ensure_role(conn: asyncpg.Connection, role: str, password: str | None) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    if not exists:
        await conn.execute(
            await conn.fetchval("SELECT format('CREATE ROLE %I LOGIN', $1::text)", role)
        )
    if password is not None:
        statement = await conn.fetchval(
            "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", role, password
        )
        await conn.execute(statement)


async def ensure_database(admin_dsn: str, database: str) -> None:
    """Creates ``database`` unless it exists (connects with the admin DSN's own database)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(
                await conn.fetchval("SELECT format('CREATE DATABASE %I', $1::text)", database)
            )
    finally:
        await conn.close()


async def provision_service(
    conn: asyncpg.Connection, database: str, service: str, password: str | None = None
) -> ServiceRoles:
    """Roles, schema and default privileges of one service, idempotently."""
    roles = ServiceRoles(service)
    await _ensure_role(conn, roles.owner, password)
    await _ensure_role(conn, roles.runtime, password)
    q = {
        "db": database,
        "schema": roles.schema,
        "owner": roles.owner,
        "runtime": roles.runtime,
    }
    statements = [
        "REVOKE ALL ON DATABASE {db} FROM PUBLIC",
        "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {owner}, {runtime}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        "CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner}",
        "REVOKE ALL ON SCHEMA {schema} FROM PUBLIC",
        "GRANT USAGE ON SCHEMA {schema} TO {runtime}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        "GRANT USAGE, SELECT ON SEQUENCES TO {runtime}",
        "ALTER ROLE {owner} SET search_path = {schema}",
        "ALTER ROLE {runtime} SET search_path = {schema}",
    ]
    quoted = {
        key: await conn.fetchval("SELECT quote_ident($1::text)", value) for key, value in q.items()
    }
    for statement in statements:
        await conn.execute(statement.format(**quoted))
    return roles


async def provision(
    admin_dsn_for_database: str,
    database: str,
    password: str | None = None,
    services: tuple[str, ...] = SERVICES,
) -> list[ServiceRoles]:
    """Provisions every service inside ``database`` (the DSN must point at that database)."""
    conn = await asyncpg.connect(admin_dsn_for_database)
    try:
        return [await provision_service(conn, database, s, password) for s in services]
    finally:
        await conn.close()
