"""Bulk data straight into PostgreSQL, as each schema's owner role, for the million-row cases.

Data is shaped like real use, in groups: a teacher owns a class of 30 enrolled students and a
guardian holds a viewer grant on the class. Ids are md5 digests of ``<kind><group>[-<n>]``
computed the same way in SQL and in Python, so a bench can address seeded rows without
reading them back. generate_series keeps the rows inside the server: a million rows cost no
round trips. Work goes in chunks so that each statement (and its WAL) stays bounded.
"""

from __future__ import annotations

import hashlib
import uuid

import asyncpg

STUDENTS_PER_CLASS = 30
# relation_tuples rows per group: class owner, class viewer, and per student owner + enrolled_in.
TUPLES_PER_GROUP = 2 + 2 * STUDENTS_PER_CLASS
_CHUNK_GROUPS = 2000


def bench_uuid(kind: str, group: int, member: int | None = None) -> uuid.UUID:
    """The id seed SQL gives ``kind`` in ``group`` (and ``member`` within it)."""
    text = f"{kind}{group}" if member is None else f"{kind}{group}-{member}"
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())


def _sql_id(kind: str, member: bool = False) -> str:
    # Same text as bench_uuid; md5() gives 32 hex digits, which cast to uuid directly.
    if member:
        return f"md5('{kind}' || g || '-' || s)::uuid"
    return f"md5('{kind}' || g)::uuid"


_TUPLES_SQL = f"""
INSERT INTO relation_tuples (resource_type, resource_id, relation, subject_id)
SELECT 'class', {_sql_id("c")}, 'owner', {_sql_id("t")} FROM generate_series($1::int, $2::int) g
UNION ALL
SELECT 'class', {_sql_id("c")}, 'viewer', {_sql_id("g")} FROM generate_series($1::int, $2::int) g
UNION ALL
SELECT 'student', {_sql_id("s", True)}, 'owner', {_sql_id("t")}
  FROM generate_series($1::int, $2::int) g, generate_series(0, {STUDENTS_PER_CLASS - 1}) s
UNION ALL
SELECT 'student', {_sql_id("s", True)}, 'enrolled_in', {_sql_id("c")}
  FROM generate_series($1::int, $2::int) g, generate_series(0, {STUDENTS_PER_CLASS - 1}) s
ON CONFLICT DO NOTHING
"""

_CLASSES_SQL = f"""
INSERT INTO classes (id, owner_id, name, term)
SELECT {_sql_id("c")}, {_sql_id("t")}, 'Class ' || g, 'Bench term'
  FROM generate_series($1::int, $2::int) g
ON CONFLICT DO NOTHING
"""

_STUDENTS_SQL = f"""
INSERT INTO students (id, owner_id, display_name, birth_date, gender, notes)
SELECT {_sql_id("s", True)}, {_sql_id("t")}, 'Student ' || g || '-' || s,
       date '2012-01-01' + (g * 31 + s) % 2000, 'f', 'seeded by bench'
  FROM generate_series($1::int, $2::int) g, generate_series(0, {STUDENTS_PER_CLASS - 1}) s
ON CONFLICT DO NOTHING
"""

_ENROLLMENTS_SQL = f"""
INSERT INTO enrollments (class_id, student_id)
SELECT {_sql_id("c")}, {_sql_id("s", True)}
  FROM generate_series($1::int, $2::int) g, generate_series(0, {STUDENTS_PER_CLASS - 1}) s
ON CONFLICT DO NOTHING
"""


async def _in_chunks(dsn: str, statements: list[str], first: int, end: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for start in range(first, end, _CHUNK_GROUPS):
            last = min(end, start + _CHUNK_GROUPS) - 1
            async with connection.transaction():
                for statement in statements:
                    await connection.execute(statement, start, last)
    finally:
        await connection.close()


async def _analyze(dsn: str, tables: list[str]) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for table in tables:
            # Fresh statistics and visibility map, as autovacuum would give a long-lived table.
            await connection.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        await connection.close()


async def count_rows(dsn: str, table: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await connection.close()


async def seed_tuple_groups(sharing_owner_dsn: str, first: int, end: int) -> None:
    """Groups ``first`` .. ``end - 1`` of relation tuples (62 rows each)."""
    await _in_chunks(sharing_owner_dsn, [_TUPLES_SQL], first, end)
    await _analyze(sharing_owner_dsn, ["relation_tuples"])


async def seed_roster_groups(
    roster_owner_dsn: str, sharing_owner_dsn: str, first: int, end: int
) -> None:
    """Groups of a class with 30 enrolled students in roster, and their tuples in sharing."""
    await _in_chunks(roster_owner_dsn, [_CLASSES_SQL, _STUDENTS_SQL, _ENROLLMENTS_SQL], first, end)
    await _in_chunks(sharing_owner_dsn, [_TUPLES_SQL], first, end)
    await _analyze(roster_owner_dsn, ["classes", "students", "enrollments"])
    await _analyze(sharing_owner_dsn, ["relation_tuples"])
