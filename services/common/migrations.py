"""Ordered plain-SQL migrations per service, safe to run from several replicas at once.

Files are ``migrations/NNNN_name.sql`` beside each service. Each one runs in its own
transaction together with its row in ``<schema>.schema_migrations``; an advisory lock makes
concurrent runners wait for each other, and a changed file that was already applied stops the
run instead of leaving the schema in an unknown state.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

logger = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The migration files or the recorded history are inconsistent."""


@dataclass(frozen=True)
class Migration:
    """One SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path) -> list[Migration]:
    """The migrations of a directory in version order; bad names or duplicates are errors."""
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_name.sql")
        migrations.append(Migration(int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {directory}")
    return migrations


async def migrate(connection: asyncpg.Connection, schema: str, directory: Path) -> list[int]:
    """Applies the pending migrations of ``directory`` to ``schema``; returns their versions."""
    migrations = load_migrations(directory)
    lock_key = f"trackcc:migrate:{schema}"
    await connection.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock_key)
    try:
        await connection.execute(f"SET search_path = {_quote_ident(schema)}")
        await connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        applied = {
            row["version"]: row["checksum"]
            for row in await connection.fetch("SELECT version, checksum FROM schema_migrations")
        }
        known = {m.version for m in migrations}
        unknown = sorted(set(applied) - known)
        if unknown:
            raise MigrationError(
                f"{schema}: database has migrations {unknown} that this code does not know"
            )
        done: list[int] = []
        for migration in migrations:
            recorded = applied.get(migration.version)
            if recorded is not None:
                if recorded != migration.checksum:
                    raise MigrationError(
                        f"{schema}: migration {migration.version:04d}_{migration.name} "
                        "changed after it was applied; add a new migration instead"
                    )
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            logger.info("applied migration", extra={"schema": schema, "version": migration.version})
            done.append(migration.version)
        return done
    finally:
        await connection.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lock_key)


async def migrate_dsn(dsn: str, schema: str, directory: Path) -> list[int]:
    """Connects with ``dsn`` (the schema owner's role) and migrates."""
    connection = await asyncpg.connect(dsn)
    try:
        return await migrate(connection, schema, directory)
    finally:
        await connection.close()


def _quote_ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise MigrationError(f"schema name {name!r} is not a plain identifier")
    return f'"{name}"'
