"""``trackcc-admin restore``: a ``backup`` archive into a fresh database, never over data.

Order: check the archive is a TrackCC dump and the target holds nothing (before changing
anything), provision the database and roles as ``make run`` or ``trackcc-admin provision``
would, then pg_restore everything in one transaction, so a failure leaves no half-restored
schema. Last, every service's ``schema_migrations`` must be there, or the services would
start on a database they cannot recognise.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from pathlib import Path

import asyncpg

from services.admin.local import Server, server_for_restore
from services.admin.pgtools import check_trackcc_archive, run_tool
from services.common.config import Env
from services.common.provision import SERVICES, ServiceRoles
from services.localstack.database import provision_database
from services.localstack.dsn import with_credentials
from services.localstack.errors import StackError

LOCAL = "local"

# Objects in any schema but these mean the database is in use: restoring into it could mix
# two histories, and dropping them would lose data.
_USER_OBJECTS = """
    SELECT n.nspname || '.' || c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    UNION ALL
    SELECT n.nspname || '.' || p.proname
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
    ORDER BY 1
    LIMIT 3
"""


async def _connect(dsn: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        # The DSN is never repeated: it may carry the administrator's password.
        raise StackError(f"cannot connect to the target server: {error}") from None


async def _refuse_non_empty(admin_url: str, database: str) -> None:
    conn = await _connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
    finally:
        await conn.close()
    if not exists:
        return
    conn = await _connect(with_credentials(admin_url, database=database))
    try:
        found = [row[0] for row in await conn.fetch(_USER_OBJECTS)]
    finally:
        await conn.close()
    if found:
        raise StackError(
            f"database {database!r} is not empty (it holds {', '.join(found)}); "
            "restore only into a fresh database, nothing was changed"
        )


async def _drop_empty_service_schemas(dsn: str) -> None:
    # Provisioning makes the schemas; the archive makes them again with its own privileges.
    # RESTRICT (the default) refuses a schema that holds anything, so nothing can be lost.
    conn = await _connect(dsn)
    try:
        async with conn.transaction():
            for service in SERVICES:
                schema = await conn.fetchval(
                    "SELECT quote_ident($1::text)", ServiceRoles(service).schema
                )
                await conn.execute(f"DROP SCHEMA IF EXISTS {schema} RESTRICT")
    finally:
        await conn.close()


async def _migration_summary(dsn: str) -> list[str]:
    conn = await _connect(dsn)
    try:
        lines = []
        for service in SERVICES:
            table = f"{ServiceRoles(service).schema}.schema_migrations"
            if await conn.fetchval("SELECT to_regclass($1::text)", table) is None:
                raise StackError(f"restore incomplete: {table} is missing")
            latest = await conn.fetchval(f"SELECT max(version) FROM {table}")
            lines.append(f"  {service}: migrations up to {latest or 0:04d}")
        return lines
    finally:
        await conn.close()


async def restore_into(archive: Path, server: Server, database: str) -> str:
    """Restores a checked TrackCC ``archive`` into ``database`` on ``server``; returns a summary."""
    await _refuse_non_empty(server.admin_url, database)
    await provision_database(server.admin_url, server.role_password, database)
    target = with_credentials(server.admin_url, database=database)
    await _drop_empty_service_schemas(target)
    await asyncio.to_thread(
        run_tool,
        "pg_restore",
        ["--exit-on-error", "--single-transaction", str(archive)],
        target,
    )
    summary = await _migration_summary(target)
    return "\n".join([f"restored {archive} into database {database}:", *summary]) + "\n"


def restore_command(
    env: Env, archive: Path, into_url: str, database: str, role_password: str | None = None
) -> str:
    """``restore FILE [--into-url ADMIN_DSN | local]``.

    ``role_password`` sets the service roles' password on an ``--into-url`` server; the
    local stack always uses the password kept in its data directory.
    """
    if not archive.is_file():
        raise StackError(f"{archive}: no such file")
    # Checked before a server is started or a data directory is created for nothing.
    check_trackcc_archive(archive)
    if into_url != LOCAL:
        if urllib.parse.urlsplit(into_url).scheme not in ("postgresql", "postgres"):
            raise StackError("--into-url must be a postgresql:// URL or 'local'")
        server = Server(into_url, role_password)
        return asyncio.run(restore_into(archive, server, database))
    with server_for_restore(env) as server:
        return asyncio.run(restore_into(archive, server, database))
