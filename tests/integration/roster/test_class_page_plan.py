"""The class page's plan: driven by the class's enrollments, never by a walk over every
student in creation order, even as the generic plan PostgreSQL settles on for a prepared
statement (services/roster/students.py says why the sort key is an expression)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.common.migrations import migrate_dsn
from services.common.pagination import Cursor
from services.roster import students
from services.roster.service import DEFINITION as ROSTER
from tests.support.postgres import TestDatabase

OTHER_OWNERS = 20  # the table shape in which the old sort key got the walk (2,030 students)


@pytest.fixture
async def connection(database: TestDatabase) -> AsyncIterator[asyncpg.Connection]:
    await migrate_dsn(database.owner_dsn("roster"), "roster", ROSTER.migrations)
    opened = await database.connect("roster")
    try:
        yield opened
    finally:
        await opened.close()


async def _owner_with_students(
    connection: asyncpg.Connection, classes: int, students_each: int
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """An owner's classes and students, each student in two of the classes (or the one)."""
    owner = uuid.uuid4()
    class_ids = [uuid.uuid4() for _ in range(classes)]
    student_ids = [uuid.uuid4() for _ in range(students_each)]
    await connection.executemany(
        "INSERT INTO classes (id, owner_id, name) VALUES ($1, $2, 'Class')",
        [(c, owner) for c in class_ids],
    )
    await connection.executemany(
        "INSERT INTO students (id, owner_id, display_name) VALUES ($1, $2, 'Pupil')",
        [(s, owner) for s in student_ids],
    )
    pairs = {(class_ids[(i + k) % classes], s) for i, s in enumerate(student_ids) for k in (0, 1)}
    await connection.executemany(
        "INSERT INTO enrollments (class_id, student_id) VALUES ($1, $2)", sorted(pairs)
    )
    return class_ids, student_ids


async def _seeded(database: TestDatabase, connection: asyncpg.Connection) -> uuid.UUID:
    """A class of 30 among 2,000 other students, with fresh statistics; the class's id."""
    for _ in range(OTHER_OWNERS):
        await _owner_with_students(connection, 5, 100)
    (class_id,), _ = await _owner_with_students(connection, 1, 30)
    schema_owner = await database.connect("roster", owner=True)
    try:
        await schema_owner.execute("VACUUM ANALYZE")
    finally:
        await schema_owner.close()
    return class_id


async def test_the_generic_plan_starts_from_the_class_enrollments(
    database: TestDatabase, connection: asyncpg.Connection
) -> None:
    class_id = await _seeded(database, connection)
    await connection.execute("SET plan_cache_mode = force_generic_plan")
    await connection.execute(
        f"PREPARE page(uuid, timestamptz, uuid, int) AS {students.PAGE_IN_CLASS_SQL}"
    )
    plan = "\n".join(
        r[0]
        for r in await connection.fetch(
            f"EXPLAIN (COSTS OFF) EXECUTE page('{class_id}', NULL, NULL, 31)"
        )
    )

    assert "students_by_created" not in plan, plan
    assert "enrollments_pkey" in plan, plan


async def test_the_generic_plan_pages_through_the_class_in_order(
    database: TestDatabase, connection: asyncpg.Connection
) -> None:
    class_id = await _seeded(database, connection)
    expected = await connection.fetch(
        "SELECT s.id FROM enrollments AS e JOIN students AS s ON s.id = e.student_id"
        " WHERE e.class_id = $1 ORDER BY s.created_at, s.id",
        class_id,
    )
    await connection.execute("SET plan_cache_mode = force_generic_plan")

    seen: list[uuid.UUID] = []
    after: Cursor | None = None
    for _ in range(10):
        owner, rows = await students.page_in_class(connection, class_id, after, 7)
        assert owner is not None
        seen += [row.id for row in rows]
        if len(rows) < 7:
            break
        after = rows[-1].cursor

    assert seen == [r["id"] for r in expected]
    assert len(seen) == 30
