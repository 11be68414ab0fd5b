"""The journal of tuple work in flight (see migrations/0001_roster.sql, ``tuple_journal``).

A create records its entry and commits it before it writes tuples, so a crash between the tuple
write and the row commit leaves a trace; a delete records its entry in the same transaction as
the row deletion, so a crash before the tuple deletion does too. :mod:`reconciler` finishes
entries that are older than any request can run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.common.db import DbConnection


class EntryKind(StrEnum):
    """What an entry is about."""

    CLASS = "class"
    STUDENT = "student"
    ENROLLMENT = "enrollment"


@dataclass(frozen=True)
class Entry:
    """Make sharing match the rows of this class, student or (student, class) enrollment."""

    kind: EntryKind
    resource_id: uuid.UUID
    class_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Recorded:
    """An entry as stored."""

    id: int
    entry: Entry
    created_at: datetime


def class_entry(class_id: uuid.UUID) -> Entry:
    return Entry(EntryKind.CLASS, class_id)


def student_entry(student_id: uuid.UUID) -> Entry:
    return Entry(EntryKind.STUDENT, student_id)


def enrollment_entry(student_id: uuid.UUID, class_id: uuid.UUID) -> Entry:
    return Entry(EntryKind.ENROLLMENT, student_id, class_id)


async def record(connection: DbConnection, entries: Sequence[Entry]) -> list[int]:
    """Stores entries (in the caller's transaction, if any); returns their ids."""
    if not entries:
        return []
    records = await connection.fetch(
        """
        INSERT INTO tuple_journal (kind, resource_id, class_id)
        SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[])
        RETURNING id
        """,
        [e.kind.value for e in entries],
        [e.resource_id for e in entries],
        [e.class_id for e in entries],
    )
    return [r["id"] for r in records]


async def done(connection: DbConnection, ids: Sequence[int]) -> None:
    """Removes entries whose tuple work has finished."""
    if ids:
        await connection.execute(
            "DELETE FROM tuple_journal WHERE id = ANY($1::bigint[])", list(ids)
        )


async def claim_due(
    connection: DbConnection, older_than_seconds: float, limit: int
) -> list[Recorded]:
    """Entries older than the limit, locked for this transaction; other replicas skip them."""
    records = await connection.fetch(
        """
        SELECT id, kind, resource_id, class_id, created_at FROM tuple_journal
         WHERE created_at < clock_timestamp() - make_interval(secs => $1)
         ORDER BY id
         LIMIT $2
           FOR UPDATE SKIP LOCKED
        """,
        older_than_seconds,
        limit,
    )
    return [
        Recorded(
            r["id"], Entry(EntryKind(r["kind"]), r["resource_id"], r["class_id"]), r["created_at"]
        )
        for r in records
    ]
