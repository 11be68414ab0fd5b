"""Migrations apply once, in order, refuse edited history, and tolerate concurrent runners."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from services.common.migrations import MigrationError, migrate_dsn
from tests.support.postgres import TestDatabase


def _write(directory: Path, name: str, sql: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(sql)


async def test_applies_pending_in_order_once(database: TestDatabase, tmp_path: Path) -> None:
    _write(tmp_path, "0001_create.sql", "CREATE TABLE items (id int PRIMARY KEY);")
    _write(tmp_path, "0002_seed.sql", "INSERT INTO items VALUES (1);")
    dsn = database.owner_dsn("roster")
    assert await migrate_dsn(dsn, "roster", tmp_path) == [1, 2]
    assert await migrate_dsn(dsn, "roster", tmp_path) == []
    _write(tmp_path, "0003_more.sql", "INSERT INTO items VALUES (2);")
    assert await migrate_dsn(dsn, "roster", tmp_path) == [3]
    conn = await asyncpg.connect(database.runtime_dsn("roster"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM items") == 2
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_migration_once(
    database: TestDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_create.sql", "CREATE TABLE counter (n int);")
    _write(tmp_path, "0002_bump.sql", "INSERT INTO counter VALUES (1);")
    dsn = database.owner_dsn("sharing")
    results = await asyncio.gather(*(migrate_dsn(dsn, "sharing", tmp_path) for _ in range(5)))
    assert sorted(v for r in results for v in r) == [1, 2]
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM counter") == 1
    finally:
        await conn.close()


async def test_edited_applied_migration_stops_the_run(
    database: TestDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_create.sql", "CREATE TABLE t (id int);")
    dsn = database.owner_dsn("auth")
    await migrate_dsn(dsn, "auth", tmp_path)
    _write(tmp_path, "0001_create.sql", "CREATE TABLE t (id bigint);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate_dsn(dsn, "auth", tmp_path)


async def test_failed_migration_leaves_nothing_half_applied(
    database: TestDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_create.sql", "CREATE TABLE ok (id int);")
    _write(tmp_path, "0002_broken.sql", "CREATE TABLE half (id int); SELECT * FROM nowhere;")
    dsn = database.owner_dsn("auth")
    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate_dsn(dsn, "auth", tmp_path)
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('auth.half')") is None
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == 1
    finally:
        await conn.close()


def test_bad_file_name_is_refused(tmp_path: Path) -> None:
    from services.common.migrations import load_migrations

    _write(tmp_path, "create_things.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="not NNNN_name.sql"):
        load_migrations(tmp_path)
