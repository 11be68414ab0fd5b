"""The database roles keep each service inside its own schema."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.postgres import TestDatabase


async def test_runtime_role_cannot_read_another_services_schema(database: TestDatabase) -> None:
    owner = await asyncpg.connect(database.owner_dsn("auth"))
    try:
        await owner.execute("CREATE TABLE secrets (id int)")
    finally:
        await owner.close()
    roster = await asyncpg.connect(database.runtime_dsn("roster"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await roster.fetch("SELECT * FROM auth.secrets")
    finally:
        await roster.close()


async def test_runtime_role_uses_but_cannot_alter_its_schema(database: TestDatabase) -> None:
    owner = await asyncpg.connect(database.owner_dsn("auth"))
    try:
        await owner.execute("CREATE TABLE notes (id int)")
    finally:
        await owner.close()
    runtime = await asyncpg.connect(database.runtime_dsn("auth"))
    try:
        await runtime.execute("INSERT INTO notes VALUES (1)")
        assert await runtime.fetchval("SELECT count(*) FROM notes") == 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute("CREATE TABLE intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute("DROP TABLE notes")
    finally:
        await runtime.close()
