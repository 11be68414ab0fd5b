"""Finishes tuple work that a crash left half done, and re-writes tuples that went missing.

Journal entries (:mod:`journal`) older than any request can run are settled by making sharing
match the rows: a class or student that exists gets its owner tuple (and a student its
enrollment links), one that does not exist has every tuple removed; an enrollment that exists
gets its link, one that does not has it removed. The rows read are locked against deletion
until the tuple calls are done, so a concurrent delete cannot slip in between.

The full repair pass re-writes the owner tuple of every class and student and the link of
every enrollment (idempotent writes in batches), which repairs a tuple lost in any other way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence

import asyncpg

from services.common.db import DbConnection
from services.roster import enrollments, journal
from services.roster.journal import Entry, EntryKind
from services.roster.sharing_client import (
    Authorizer,
    Kind,
    Ref,
    Tuple,
    enrollment_link,
    owner_tuple,
)

logger = logging.getLogger(__name__)

BATCH = 500
REPAIR_BATCH = 1000


async def _live_owners(
    connection: DbConnection, table: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    # table is one of two constants below, never input.
    records = await connection.fetch(
        f"SELECT id, owner_id FROM {table} WHERE id = ANY($1::uuid[]) FOR KEY SHARE", list(ids)
    )
    return {r["id"]: r["owner_id"] for r in records}


async def _links_of(
    connection: DbConnection, student_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    records = await connection.fetch(
        "SELECT student_id, class_id FROM enrollments WHERE student_id = ANY($1::uuid[])"
        " FOR KEY SHARE",
        list(student_ids),
    )
    return [(r["student_id"], r["class_id"]) for r in records]


class Reconciler:
    """Settles the journal; runs in the background of every replica (entries are locked with
    SKIP LOCKED, so replicas share the work)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        authorizer: Authorizer,
        *,
        after_seconds: float,
        interval_seconds: float,
        repair_every: int = 120,
    ) -> None:
        self._pool = pool
        self._auth = authorizer
        self._after = after_seconds
        self._interval = interval_seconds
        self._repair_every = repair_every
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Settles one batch of due entries; returns how many."""
        async with self._pool.acquire() as connection, connection.transaction():
            due = await journal.claim_due(connection, self._after, BATCH)
            if not due:
                return 0
            await self._settle(connection, [d.entry for d in due])
            await journal.done(connection, [d.id for d in due])
        logger.info("settled tuple journal entries", extra={"count": len(due)})
        return len(due)

    async def _settle(self, connection: DbConnection, entries: Sequence[Entry]) -> None:
        def ids(kind: EntryKind) -> list[uuid.UUID]:
            return list({e.resource_id for e in entries if e.kind is kind})

        class_ids, student_ids = ids(EntryKind.CLASS), ids(EntryKind.STUDENT)
        pairs = list(
            {
                (e.resource_id, e.class_id)
                for e in entries
                if e.kind is EntryKind.ENROLLMENT and e.class_id is not None
            }
        )
        live_classes = await _live_owners(connection, "classes", class_ids)
        live_students = await _live_owners(connection, "students", student_ids)
        live_pairs = await enrollments.existing(connection, pairs)
        links = await _links_of(connection, list(live_students))

        write: list[Tuple] = [owner_tuple(Ref(Kind.CLASS, c), o) for c, o in live_classes.items()]
        write += [owner_tuple(Ref(Kind.STUDENT, s), o) for s, o in live_students.items()]
        write += [enrollment_link(s, c) for s, c in {*links, *live_pairs}]
        gone: list[Ref] = [Ref(Kind.CLASS, c) for c in class_ids if c not in live_classes]
        gone += [Ref(Kind.STUDENT, s) for s in student_ids if s not in live_students]
        stray_links = [enrollment_link(s, c) for s, c in pairs if (s, c) not in live_pairs]
        await self._auth.write_tuples(write)
        await self._auth.delete_tuples(stray_links, gone)

    async def repair_all(self) -> int:
        """Re-writes every owner tuple and enrollment link; returns how many tuples."""
        written = 0
        for sql, build in (
            (
                "SELECT id AS a, owner_id AS b FROM classes WHERE ($1::uuid IS NULL OR id > $1)"
                " ORDER BY id LIMIT $2",
                lambda a, b: owner_tuple(Ref(Kind.CLASS, a), b),
            ),
            (
                "SELECT id AS a, owner_id AS b FROM students WHERE ($1::uuid IS NULL OR id > $1)"
                " ORDER BY id LIMIT $2",
                lambda a, b: owner_tuple(Ref(Kind.STUDENT, a), b),
            ),
        ):
            written += await self._repair_pass(sql, build)
        written += await self._repair_links()
        return written

    async def _repair_pass(self, sql: str, build: Callable[[uuid.UUID, uuid.UUID], Tuple]) -> int:
        after: uuid.UUID | None = None
        written = 0
        while True:
            async with self._pool.acquire() as connection, connection.transaction():
                records = await connection.fetch(sql + " FOR KEY SHARE", after, REPAIR_BATCH)
                if not records:
                    return written
                await self._auth.write_tuples([build(r["a"], r["b"]) for r in records])
            written += len(records)
            after = records[-1]["a"]

    async def _repair_links(self) -> int:
        after: tuple[uuid.UUID, uuid.UUID] | None = None
        written = 0
        while True:
            async with self._pool.acquire() as connection, connection.transaction():
                records = await connection.fetch(
                    """
                    SELECT student_id, class_id FROM enrollments
                     WHERE $1::uuid IS NULL OR (student_id, class_id) > ($1::uuid, $2::uuid)
                     ORDER BY student_id, class_id
                     LIMIT $3
                       FOR KEY SHARE
                    """,
                    after[0] if after else None,
                    after[1] if after else None,
                    REPAIR_BATCH,
                )
                if not records:
                    return written
                await self._auth.write_tuples(
                    [enrollment_link(r["student_id"], r["class_id"]) for r in records]
                )
            written += len(records)
            after = (records[-1]["student_id"], records[-1]["class_id"])

    def start(self) -> None:
        """Runs in the background until :meth:`aclose`."""
        self._task = asyncio.create_task(self._loop(), name="roster-reconciler")

    async def _loop(self) -> None:
        rounds = 0
        while True:
            try:
                if rounds % self._repair_every == 0:
                    await self.repair_all()
                while await self.run_once() == BATCH:
                    pass
            except Exception:  # noqa: BLE001 - the next round retries; never die
                logger.exception("reconciler round failed")
            rounds += 1
            await asyncio.sleep(self._interval)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
