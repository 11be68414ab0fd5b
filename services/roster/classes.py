"""Repository of classes: plain parameterised SQL on the caller's one connection."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.common.db import DbConnection
from services.common.pagination import Cursor

_COLUMNS = """
    c.id, c.owner_id, c.name, c.term, c.created_at, c.updated_at,
    (SELECT count(*) FROM enrollments AS e WHERE e.class_id = c.id) AS student_count
"""

# Only these columns may be changed; the update mask is checked against this set.
UPDATABLE = frozenset({"name", "term"})


@dataclass(frozen=True)
class ClassRow:
    """A class as stored, with its enrollment count."""

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    term: str | None
    student_count: int
    created_at: datetime
    updated_at: datetime

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.created_at, self.id)


def _row(record: asyncpg.Record) -> ClassRow:
    return ClassRow(
        id=record["id"],
        owner_id=record["owner_id"],
        name=record["name"],
        term=record["term"],
        student_count=record["student_count"],
        created_at=record["created_at"],
        updated_at=record["updated_at"],
    )


async def insert(
    connection: DbConnection,
    class_id: uuid.UUID,
    owner_id: uuid.UUID,
    name: str,
    term: str | None,
) -> ClassRow:
    record = await connection.fetchrow(
        """
        INSERT INTO classes (id, owner_id, name, term) VALUES ($1, $2, $3, $4)
        RETURNING id, owner_id, name, term, created_at, updated_at, 0 AS student_count
        """,
        class_id,
        owner_id,
        name,
        term,
    )
    assert record is not None
    return _row(record)


async def get(connection: DbConnection, class_id: uuid.UUID) -> ClassRow | None:
    record = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM classes AS c WHERE c.id = $1", class_id
    )
    return _row(record) if record else None


async def page(
    connection: DbConnection,
    ids: Sequence[uuid.UUID],
    after: Cursor | None,
    limit: int,
) -> list[ClassRow]:
    """Classes among ``ids`` in (created_at, id) order after the cursor."""
    records = await connection.fetch(
        f"""
        SELECT {_COLUMNS} FROM classes AS c
         WHERE c.id = ANY($1::uuid[])
           AND ($2::timestamptz IS NULL OR (c.created_at, c.id) > ($2::timestamptz, $3::uuid))
         ORDER BY c.created_at, c.id
         LIMIT $4
        """,
        list(ids),
        after.created_at if after else None,
        after.id if after else None,
        limit,
    )
    return [_row(r) for r in records]


async def owner_of(connection: DbConnection, class_id: uuid.UUID) -> uuid.UUID | None:
    """The owner of the class, or None when there is no such class."""
    owner: uuid.UUID | None = await connection.fetchval(
        "SELECT owner_id FROM classes WHERE id = $1", class_id
    )
    return owner


async def update(
    connection: DbConnection,
    class_id: uuid.UUID,
    changes: Mapping[str, object],
    *,
    owner_id: uuid.UUID | None = None,
) -> ClassRow | None:
    """Sets the given columns (names from :data:`UPDATABLE` only) and returns the class.

    With ``owner_id``, only a class of that owner is changed: the owner's decision and the
    change are one statement.
    """
    names = sorted(changes)
    if not set(names) <= UPDATABLE:
        raise ValueError(f"not updatable: {set(names) - UPDATABLE}")
    assignments = ", ".join(f"{name} = ${i + 3}" for i, name in enumerate(names))
    updated = await connection.fetchval(
        f"UPDATE classes SET {assignments}, updated_at = clock_timestamp()"
        " WHERE id = $1 AND ($2::uuid IS NULL OR owner_id = $2) RETURNING id",
        class_id,
        owner_id,
        *(changes[name] for name in names),
    )
    return await get(connection, class_id) if updated else None


async def delete(
    connection: DbConnection, class_id: uuid.UUID, *, owner_id: uuid.UUID | None = None
) -> bool:
    """Deletes the class (with ``owner_id``: only a class of that owner); its enrollments go
    with it (ON DELETE CASCADE)."""
    return (
        await connection.fetchval(
            "DELETE FROM classes WHERE id = $1 AND ($2::uuid IS NULL OR owner_id = $2)"
            " RETURNING true",
            class_id,
            owner_id,
        )
        is True
    )


async def owned(connection: DbConnection, owner_id: uuid.UUID) -> list[ClassRow]:
    """Every class of an owner (export)."""
    records = await connection.fetch(
        f"SELECT {_COLUMNS} FROM classes AS c WHERE c.owner_id = $1 ORDER BY c.created_at, c.id",
        owner_id,
    )
    return [_row(r) for r in records]


async def delete_owned(connection: DbConnection, owner_id: uuid.UUID) -> list[uuid.UUID]:
    """Deletes every class of an owner (purge); returns their ids."""
    records = await connection.fetch(
        "DELETE FROM classes WHERE owner_id = $1 RETURNING id", owner_id
    )
    return [r["id"] for r in records]


async def owners(
    connection: DbConnection, class_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The owner of each existing class among ``class_ids``."""
    records = await connection.fetch(
        "SELECT id, owner_id FROM classes WHERE id = ANY($1::uuid[])", list(class_ids)
    )
    return {r["id"]: r["owner_id"] for r in records}
