"""The owner's access log: append-only entries per resource, newest first.

The runtime role may only insert (the migration revokes UPDATE and DELETE); a resource's log
is erased with the resource through ``purge_access_log``, which refuses while it has an owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg

from services.common.db import DbConnection
from services.sharing.permissions import Permission
from services.sharing.tuples import ResourceRef

# Repeated views of one resource by one actor within this window make one entry.
VIEW_COALESCE_WINDOW = timedelta(hours=1)
_RECENT_VIEWS_LIMIT = 100_000
_DEADLOCK_ATTEMPTS = 3

ViewKey = tuple[uuid.UUID, str, uuid.UUID]


class RecentViews:
    """Views this process knows to be logged within the coalescing window.

    A guardian paging through a class reads the same students again and again; without this,
    every read would run the coalescing upsert, which takes a row lock that all concurrent
    reads of that actor queue on. The database stays the arbiter: a view not known here still
    goes through the guarded upsert, so replicas never log one view twice.
    """

    def __init__(self, limit: int = _RECENT_VIEWS_LIMIT) -> None:
        self._logged_at: dict[ViewKey, datetime] = {}
        self._limit = limit

    def covers(self, key: ViewKey, at: datetime) -> bool:
        return self.covering(key, at) is not None

    def covering(self, key: ViewKey, at: datetime) -> datetime | None:
        """When the view that covers a view at ``at`` was logged, or None."""
        logged_at = self._logged_at.get(key)
        if logged_at is not None and logged_at <= at < logged_at + VIEW_COALESCE_WINDOW:
            return logged_at
        return None

    def remember(self, key: ViewKey, logged_at: datetime) -> None:
        if len(self._logged_at) >= self._limit:
            self._logged_at.clear()  # a forgotten view only costs one more upsert
        self._logged_at[key] = logged_at


class Action(StrEnum):
    """What happened."""

    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    LEFT = "left"
    EXPIRED = "expired"
    VIEWED = "viewed"
    CHANGED = "changed"


@dataclass(frozen=True)
class Entry:
    """One log entry."""

    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_email: str
    action: Action
    grant_id: uuid.UUID | None


async def record(
    connection: DbConnection,
    resource: ResourceRef,
    action: Action,
    *,
    at: datetime,
    actor_id: uuid.UUID | None,
    actor_email: str = "",
    grant_id: uuid.UUID | None = None,
) -> None:
    """Appends an entry."""
    await connection.execute(
        """
        INSERT INTO access_log (resource_type, resource_id, at, actor_id, actor_email, action,
                                grant_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        resource.type,
        resource.id,
        at,
        actor_id,
        actor_email,
        action.value,
        grant_id,
    )


async def record_use(
    connection: DbConnection,
    resource: ResourceRef,
    permission: Permission,
    *,
    at: datetime,
    actor_id: uuid.UUID,
    grant_id: uuid.UUID | None,
    recent_views: RecentViews | None = None,
) -> datetime | None:
    """Logs a non-owner's allowed read (coalesced per hour) or change (always).

    For a read, returns when the view that covers it was logged (its mark), if known: a
    decision lease on the answer ends with that mark's hour (``decision_leases.py``)."""
    if permission is Permission.READ:
        key: ViewKey = (actor_id, resource.type, resource.id)
        if recent_views is not None:
            covering = recent_views.covering(key, at)
            if covering is not None:
                return covering
        # The guarded upsert moves the mark only when the last logged view is an hour old;
        # concurrent checks wait on the row lock and see the moved mark, so one entry wins.
        await connection.execute(
            """
            WITH mark AS (
                INSERT INTO view_marks (actor_id, resource_type, resource_id, logged_at)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (actor_id, resource_type, resource_id) DO UPDATE
                   SET logged_at = EXCLUDED.logged_at
                 WHERE view_marks.logged_at <= EXCLUDED.logged_at - $6::interval
                RETURNING 1
            )
            INSERT INTO access_log (resource_type, resource_id, at, actor_id, actor_email,
                                    action, grant_id)
            SELECT $2, $3, $4, $1, coalesce(
                       (SELECT grantee_email FROM grants WHERE id = $5), ''), 'viewed', $5
              FROM mark
            """,
            actor_id,
            resource.type,
            resource.id,
            at,
            grant_id,
            VIEW_COALESCE_WINDOW,
        )
        if recent_views is not None:
            logged_at = await connection.fetchval(
                "SELECT logged_at FROM view_marks"
                " WHERE actor_id = $1 AND resource_type = $2 AND resource_id = $3",
                actor_id,
                resource.type,
                resource.id,
            )
            if logged_at is not None:
                recent_views.remember(key, logged_at)
            return logged_at  # type: ignore[no-any-return]
    elif permission in (Permission.WRITE, Permission.DELETE):
        await connection.execute(
            """
            INSERT INTO access_log (resource_type, resource_id, at, actor_id, actor_email,
                                    action, grant_id)
            VALUES ($2, $3, $4, $1,
                    coalesce((SELECT grantee_email FROM grants WHERE id = $5), ''),
                    'changed', $5)
            """,
            actor_id,
            resource.type,
            resource.id,
            at,
            grant_id,
        )
    return None


async def _with_deadlock_retry(fetch: Callable[..., Awaitable[list[Any]]], *args: Any) -> list[Any]:
    """Runs one statement of its own (no transaction around it), again if PostgreSQL chose it
    as a deadlock's victim: its marks lock in id order, but a purge of several resources
    (DeleteTuples, in one transaction) may take them in another. The guarded upsert makes
    running it again harmless."""
    for attempt in range(_DEADLOCK_ATTEMPTS):
        try:
            return await fetch(*args)
        except asyncpg.DeadlockDetectedError:
            if attempt == _DEADLOCK_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def record_views(
    connection: DbConnection,
    actor_id: uuid.UUID,
    resource_type: str,
    views: Mapping[uuid.UUID, uuid.UUID | None],
    *,
    at: datetime,
    recent_views: RecentViews | None = None,
) -> dict[uuid.UUID, datetime]:
    """:func:`record_use` of reads of many resources of one type by one actor (resource id ->
    grant used): the views ``recent_views`` covers are skipped, the rest go in one statement
    with the same guarded upsert per view, so a view is logged once per hour as with Check.

    Returns, for each view whose mark is known, when the view covering it was logged."""
    marks: dict[uuid.UUID, datetime] = {}
    due: dict[uuid.UUID, uuid.UUID | None] = {}
    for rid, grant in views.items():
        covering = (
            None
            if recent_views is None
            else recent_views.covering((actor_id, resource_type, rid), at)
        )
        if covering is None:
            due[rid] = grant
        else:
            marks[rid] = covering
    if not due:
        return marks
    # The marks are upserted in id order: two of these statements lock their rows in the same
    # order, so they never wait on each other in a cycle. A mark not moved by this statement
    # is read from its snapshot: never newer than the real one, so remembering it is safe
    # (a stale mark covers only views that the real one covers too).
    rows = await _with_deadlock_retry(
        connection.fetch,
        """
        WITH asked AS (
            SELECT * FROM unnest($2::uuid[], $3::uuid[]) AS a(resource_id, grant_id)
        ),
        mark AS (
            INSERT INTO view_marks (actor_id, resource_type, resource_id, logged_at)
            SELECT $1, $4, resource_id, $5 FROM asked ORDER BY resource_id
            ON CONFLICT (actor_id, resource_type, resource_id) DO UPDATE
               SET logged_at = EXCLUDED.logged_at
             WHERE view_marks.logged_at <= EXCLUDED.logged_at - $6::interval
            RETURNING resource_id, logged_at
        ),
        entry AS (
            INSERT INTO access_log (resource_type, resource_id, at, actor_id, actor_email,
                                    action, grant_id)
            SELECT $4, m.resource_id, $5, $1, coalesce(
                       (SELECT grantee_email FROM grants WHERE id = a.grant_id), ''),
                   'viewed', a.grant_id
              FROM mark AS m JOIN asked AS a USING (resource_id)
        )
        SELECT resource_id, logged_at FROM mark
        UNION ALL
        SELECT v.resource_id, v.logged_at FROM view_marks AS v
         WHERE v.actor_id = $1 AND v.resource_type = $4 AND v.resource_id = ANY($2::uuid[])
           AND v.resource_id NOT IN (SELECT resource_id FROM mark)
        """,
        actor_id,
        list(due),
        list(due.values()),
        resource_type,
        at,
        VIEW_COALESCE_WINDOW,
    )
    for resource_id, logged_at in rows:
        marks[resource_id] = logged_at
        if recent_views is not None:
            recent_views.remember((actor_id, resource_type, resource_id), logged_at)
    return marks


async def record_changes(
    connection: DbConnection,
    actor_id: uuid.UUID,
    resource_type: str,
    changes: Sequence[tuple[uuid.UUID, uuid.UUID | None]],
    *,
    at: datetime,
) -> None:
    """:func:`record_use` of changes of many resources (resource id, grant used) by one
    actor: every one is logged, in one statement."""
    if not changes:
        return
    await connection.execute(
        """
        INSERT INTO access_log (resource_type, resource_id, at, actor_id, actor_email,
                                action, grant_id)
        SELECT $3, a.resource_id, $4, $1,
               coalesce((SELECT grantee_email FROM grants WHERE id = a.grant_id), ''),
               'changed', a.grant_id
          FROM unnest($2::uuid[], $5::uuid[]) WITH ORDINALITY AS a(resource_id, grant_id, n)
         ORDER BY a.n
        """,
        actor_id,
        [rid for rid, _ in changes],
        resource_type,
        at,
        [grant for _, grant in changes],
    )


async def page(
    connection: DbConnection,
    resource: ResourceRef,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Entry]:
    """Entries of a resource, newest first, after the (at, id) key."""
    rows = await connection.fetch(
        """
        SELECT id, at, actor_id, actor_email, action, grant_id FROM access_log
         WHERE resource_type = $1 AND resource_id = $2
           AND ($3::timestamptz IS NULL OR (at, id) < ($3::timestamptz, $4::bigint))
         ORDER BY at DESC, id DESC
         LIMIT $5
        """,
        resource.type,
        resource.id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [
        Entry(
            id=row["id"],
            at=row["at"],
            actor_id=row["actor_id"],
            actor_email=row["actor_email"],
            action=Action(row["action"]),
            grant_id=row["grant_id"],
        )
        for row in rows
    ]


async def purge(connection: DbConnection, resource: ResourceRef) -> None:
    """Erases the log of a resource whose owner tuple is gone (see the migration)."""
    await connection.execute(
        "DELETE FROM view_marks WHERE resource_type = $1 AND resource_id = $2",
        resource.type,
        resource.id,
    )
    await connection.fetchval("SELECT purge_access_log($1, $2)", resource.type, resource.id)
