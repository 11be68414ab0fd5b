"""A student's class ids on its own row (migrations/0003_student_class_ids.sql) stay equal to
its enrollments: after every way an enrollment comes or goes, under concurrent enrollments of
one student, and for the rows that existed before the migration."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.common.migrations import migrate_dsn
from services.roster import enrollments
from services.roster.service import DEFINITION as ROSTER
from tests.support.postgres import TestDatabase
from tests.support.roster_service import Stack
from trackcc.roster.v1 import roster_service_pb2 as pb

MIGRATIONS = ROSTER.migrations
_STORED_AND_RECOMPUTED = """
    SELECT s.id, s.class_ids AS stored,
           ARRAY(SELECT e.class_id FROM enrollments AS e
                  WHERE e.student_id = s.id ORDER BY e.class_id) AS recomputed
      FROM students AS s
"""


async def _class_ids(connection: asyncpg.Connection) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Every student's stored class ids, after checking each against its enrollments."""
    records = await connection.fetch(_STORED_AND_RECOMPUTED)
    assert [(r["id"], r["stored"]) for r in records] == [
        (r["id"], r["recomputed"]) for r in records
    ]
    return {r["id"]: r["stored"] for r in records}


def _ids(*ids: str) -> list[uuid.UUID]:
    return sorted(uuid.UUID(i) for i in ids)


async def _updated_at(connection: asyncpg.Connection, student_id: str) -> datetime:
    stamp: datetime = await connection.fetchval(
        "SELECT updated_at FROM students WHERE id = $1", uuid.UUID(student_id)
    )
    return stamp


async def test_every_enrollment_change_keeps_the_row_equal_to_the_enrollments(
    stack: Stack,
) -> None:
    owner, other = stack.person(), stack.person("Mr Okafor")
    first, second, third = [await stack.new_class(owner, name) for name in ("A", "B", "C")]
    theirs = await stack.new_class(other, "Theirs")
    kept = await stack.new_student(other, "Kept", class_ids=[theirs.id])
    ana = await stack.new_student(owner, "Ana", class_ids=[first.id, second.id])
    ben = await stack.new_student(owner, "Ben")
    async with stack.database_connection() as connection:
        assert (await _class_ids(connection))[uuid.UUID(ana.id)] == _ids(first.id, second.id)
        assert list(ana.class_ids) == [str(c) for c in _ids(first.id, second.id)]
        assert (await _class_ids(connection))[uuid.UUID(ben.id)] == []
        edited = await _updated_at(connection, ben.id)

        await stack.enroll(owner, third.id, ben.id)
        assert (await _class_ids(connection))[uuid.UUID(ben.id)] == _ids(third.id)
        assert (
            await enrollments.enroll_many(
                connection, [uuid.UUID(first.id), uuid.UUID(third.id)], uuid.UUID(ben.id)
            )
            == 1
        )
        assert (await _class_ids(connection))[uuid.UUID(ben.id)] == _ids(first.id, third.id)
        # An enrollment is not an edit of the student.
        assert await _updated_at(connection, ben.id) == edited

        await stack.roster.UnenrollStudent(
            pb.UnenrollStudentRequest(class_id=first.id, student_id=ana.id),
            metadata=owner.metadata,
        )
        assert (await _class_ids(connection))[uuid.UUID(ana.id)] == _ids(second.id)

        await stack.roster.DeleteClass(
            pb.DeleteClassRequest(class_id=third.id), metadata=owner.metadata
        )
        assert (await _class_ids(connection))[uuid.UUID(ben.id)] == _ids(first.id)

        await stack.roster.DeleteStudent(
            pb.DeleteStudentRequest(student_id=ana.id), metadata=owner.metadata
        )
        assert set(await _class_ids(connection)) == {uuid.UUID(ben.id), uuid.UUID(kept.id)}

        await stack.roster_as_auth.PurgeUser(pb.PurgeUserRequest(user_id=owner.id))
        assert await _class_ids(connection) == {uuid.UUID(kept.id): _ids(theirs.id)}

    # What a client reads is the stored copy.
    page = await stack.roster.ListClassStudents(
        pb.ListClassStudentsRequest(class_id=theirs.id), metadata=other.metadata
    )
    assert [(s.id, list(s.class_ids)) for s in page.students] == [(kept.id, [theirs.id])]


@contextlib.asynccontextmanager
async def _connections(
    database: TestDatabase, count: int
) -> AsyncIterator[list[asyncpg.Connection]]:
    """Connections as roster's runtime role, as the service has them."""
    opened = [await database.connect("roster") for _ in range(count)]
    try:
        yield opened
    finally:
        for connection in opened:
            await connection.close()


async def _waits_for_a_lock(
    observer: asyncpg.Connection,
    waiting: asyncpg.Connection,
    or_done: asyncio.Task[bool] | None = None,
) -> None:
    """Returns once ``waiting`` waits for a lock (or ``or_done`` is done)."""
    pid = waiting.get_server_pid()
    for _ in range(500):
        if or_done is not None and or_done.done():
            return
        if await observer.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second transaction never waited for the first")


async def _seed(connection: asyncpg.Connection, classes: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    owner, student = uuid.uuid4(), uuid.uuid4()
    class_ids = sorted(uuid.uuid4() for _ in range(classes))
    await connection.executemany(
        "INSERT INTO classes (id, owner_id, name) VALUES ($1, $2, 'Class')",
        [(c, owner) for c in class_ids],
    )
    await connection.execute(
        "INSERT INTO students (id, owner_id, display_name) VALUES ($1, $2, 'Ana')", student, owner
    )
    return student, class_ids


Change = Callable[[asyncpg.Connection, uuid.UUID, uuid.UUID], Coroutine[Any, Any, bool]]


@pytest.mark.parametrize(
    ("already_in", "first_change", "second_change", "expected"),
    [
        pytest.param([], enrollments.enroll, enrollments.enroll, [0, 1], id="enroll-enroll"),
        pytest.param([1], enrollments.enroll, enrollments.unenroll, [0], id="enroll-unenroll"),
        pytest.param([0], enrollments.unenroll, enrollments.enroll, [1], id="unenroll-enroll"),
    ],
)
async def test_concurrent_changes_of_one_student_keep_both(
    database: TestDatabase,
    already_in: list[int],
    first_change: Change,
    second_change: Change,
    expected: list[int],
) -> None:
    """tx1 changes class 0, tx2 class 1 of the same student; tx2 waits for tx1's commit and
    must then see it, not recompute from the snapshot it started its statement with."""
    await migrate_dsn(database.owner_dsn("roster"), "roster", MIGRATIONS)
    async with _connections(database, 3) as (observer, one, two):
        student, (class_0, class_1) = await _seed(observer, 2)
        for index in already_in:
            assert await enrollments.enroll(observer, (class_0, class_1)[index], student)

        first, second = one.transaction(), two.transaction()
        await first.start()
        await second.start()
        try:
            assert await first_change(one, class_0, student)
            waiting = asyncio.create_task(second_change(two, class_1, student))
            await _waits_for_a_lock(observer, two)
            assert not waiting.done()
            await first.commit()
            assert await asyncio.wait_for(waiting, 10)
            await second.commit()
        finally:
            for transaction, connection in ((first, one), (second, two)):
                if not connection.is_closed() and connection.is_in_transaction():
                    await transaction.rollback()

        assert (await _class_ids(observer))[student] == [(class_0, class_1)[i] for i in expected]


async def test_the_migration_fills_in_the_students_already_there(
    database: TestDatabase, tmp_path: Path
) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "0003":
            shutil.copy(path, before)
    owner_dsn = database.owner_dsn("roster")
    assert await migrate_dsn(owner_dsn, "roster", before) == [1, 2]
    async with _connections(database, 1) as (connection,):
        in_two, class_ids = await _seed(connection, 3)
        in_one, in_none = uuid.uuid4(), uuid.uuid4()
        owner = await connection.fetchval("SELECT owner_id FROM students WHERE id = $1", in_two)
        await connection.executemany(
            "INSERT INTO students (id, owner_id, display_name) VALUES ($1, $2, 'Ben')",
            [(in_one, owner), (in_none, owner)],
        )
        pairs = [(class_ids[2], in_two), (class_ids[0], in_two), (class_ids[1], in_one)]
        await connection.executemany(
            "INSERT INTO enrollments (class_id, student_id) VALUES ($1, $2)", pairs
        )
        stamps = await connection.fetch("SELECT id, updated_at FROM students ORDER BY id")

        assert await migrate_dsn(owner_dsn, "roster", MIGRATIONS) == [3]

        assert await _class_ids(connection) == {
            in_two: [class_ids[0], class_ids[2]],
            in_one: [class_ids[1]],
            in_none: [],
        }
        assert await connection.fetch("SELECT id, updated_at FROM students ORDER BY id") == stamps
        # And the triggers carry on from the copy.
        assert await enrollments.enroll(connection, class_ids[1], in_two)
        assert (await _class_ids(connection))[in_two] == class_ids


async def test_two_enrollments_that_both_hold_the_student_do_not_deadlock(
    database: TestDatabase,
) -> None:
    """Every enrollment statement holds FOR KEY SHARE on its student until commit (an enroll
    that finds the student already enrolled holds only that). The triggers' lock must not
    wait for it, or two such transactions would each wait for the other."""
    await migrate_dsn(database.owner_dsn("roster"), "roster", MIGRATIONS)
    async with _connections(database, 3) as (observer, one, two):
        student, (class_0, class_1, class_2) = await _seed(observer, 3)
        assert await enrollments.enroll(observer, class_2, student)

        first, second = one.transaction(), two.transaction()
        await first.start()
        await second.start()
        statements: list[asyncio.Task[bool]] = []
        try:
            assert await enrollments.enroll(one, class_2, student)  # already in: no change
            statements.append(asyncio.create_task(enrollments.enroll(two, class_1, student)))
            await _waits_for_a_lock(observer, two, or_done=statements[0])
            statements.append(asyncio.create_task(enrollments.enroll(one, class_0, student)))
            await _waits_for_a_lock(observer, one, or_done=statements[1])
            assert await asyncio.wait_for(statements[0], 10)
            await second.commit()
            assert await asyncio.wait_for(statements[1], 10)
            await first.commit()
        finally:
            # A deadlock fails one statement; the other ends before the rollback.
            if pending := [s for s in statements if not s.done()]:
                await asyncio.wait(pending, timeout=10)
            for transaction, connection in ((first, one), (second, two)):
                if not connection.is_closed() and connection.is_in_transaction():
                    await transaction.rollback()

        assert (await _class_ids(observer))[student] == [class_0, class_1, class_2]
