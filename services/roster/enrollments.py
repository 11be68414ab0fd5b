"""Repository of enrollments: which students are in which classes of the same owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.common.db import DbConnection


async def enroll(connection: DbConnection, class_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    """Enrolls if class and student exist and have the same owner; True when a row exists now.

    The owner rule is part of the statement, so no concurrent change can slip between a check
    and the insert.
    """
    done = await connection.fetchval(
        """
        WITH pair AS (
            SELECT c.id AS class_id, s.id AS student_id
              FROM classes AS c JOIN students AS s ON s.owner_id = c.owner_id
             WHERE c.id = $1 AND s.id = $2
               FOR KEY SHARE
        ), added AS (
            INSERT INTO enrollments (class_id, student_id) SELECT class_id, student_id FROM pair
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT EXISTS (SELECT 1 FROM pair)
        """,
        class_id,
        student_id,
    )
    return done is True


async def enroll_many(
    connection: DbConnection, class_ids: Sequence[uuid.UUID], student_id: uuid.UUID
) -> int:
    """Enrolls a student in several classes of its owner; returns how many rows were added."""
    added = await connection.fetchval(
        """
        WITH added AS (
            INSERT INTO enrollments (class_id, student_id)
            SELECT c.id, s.id
              FROM classes AS c JOIN students AS s ON s.owner_id = c.owner_id
             WHERE c.id = ANY($1::uuid[]) AND s.id = $2
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM added
        """,
        list(class_ids),
        student_id,
    )
    return int(added)


async def unenroll(connection: DbConnection, class_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    """Removes the enrollment; False when there was none."""
    gone = await connection.fetchval(
        "DELETE FROM enrollments WHERE class_id = $1 AND student_id = $2 RETURNING true",
        class_id,
        student_id,
    )
    return gone is True


async def students_of(connection: DbConnection, class_id: uuid.UUID) -> list[uuid.UUID]:
    """Every student enrolled in a class."""
    records = await connection.fetch(
        "SELECT student_id FROM enrollments WHERE class_id = $1", class_id
    )
    return [r["student_id"] for r in records]


async def existing(
    connection: DbConnection, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Which (student, class) pairs are enrolled; locked against deletion until commit."""
    records = await connection.fetch(
        """
        SELECT e.student_id, e.class_id
          FROM enrollments AS e
          JOIN unnest($1::uuid[], $2::uuid[]) AS p(student_id, class_id)
            ON e.student_id = p.student_id AND e.class_id = p.class_id
           FOR KEY SHARE OF e
        """,
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return {(r["student_id"], r["class_id"]) for r in records}


async def owners_of_pair(
    connection: DbConnection, class_id: uuid.UUID, student_id: uuid.UUID
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The owners of a class and a student (None for a missing one), to explain a refusal."""
    record = await connection.fetchrow(
        "SELECT (SELECT owner_id FROM classes WHERE id = $1) AS class_owner,"
        " (SELECT owner_id FROM students WHERE id = $2) AS student_owner",
        class_id,
        student_id,
    )
    assert record is not None
    return record["class_owner"], record["student_owner"]
