"""Check: a user's effective access to a resource, and the log entry a non-owner's use makes.

Three shapes of one rule: :func:`check` (one resource), :func:`check_many` (several of one
user, one lookup) and :func:`check_groups` (check groups: one user's checks of many resources
of one type, evaluated set-wise for pages of students). All three answer and log alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.common.db import DbConnection
from services.sharing import access_log, permissions, tuples
from services.sharing.decision_leases import NO_LEASES, LeasePolicy
from services.sharing.permissions import Access, Permission
from services.sharing.tuples import ResourceRef


async def access_of(
    connection: DbConnection, user_id: uuid.UUID, resource: ResourceRef, now: datetime
) -> Access | None:
    """The strongest active relation the user holds, directly or through a class."""
    return permissions.effective(await tuples.candidates(connection, user_id, resource), now)


@dataclass(frozen=True)
class Decision:
    """One check's answer: allowed, the access it found (None for none), and its lease."""

    allowed: bool
    access: Access | None
    lease_ms: int = 0


async def check(
    connection: DbConnection,
    user_id: uuid.UUID,
    resource: ResourceRef,
    permission: Permission,
    now: datetime,
    recent_views: access_log.RecentViews | None = None,
    *,
    log_use: bool = True,
    leases: LeasePolicy = NO_LEASES,
) -> Decision:
    """Whether the permission is allowed; an allowed read or change by a non-owner is logged.

    Logging here, where the decision is made, means every read or change that roster lets
    through appears in the owner's log without roster having to remember to report it.
    ``log_use=False`` is for a read that only filters which ids a caller is shown.
    """
    [decision] = await check_many(
        connection, user_id, [(resource, permission, log_use)], now, recent_views, leases=leases
    )
    return decision


async def check_many(
    connection: DbConnection,
    user_id: uuid.UUID,
    asks: Sequence[tuple[ResourceRef, Permission, bool]],
    now: datetime,
    recent_views: access_log.RecentViews | None = None,
    *,
    leases: LeasePolicy = NO_LEASES,
) -> list[Decision]:
    """:func:`check` for several resources of one user, with one lookup statement; each ask
    is (resource, permission, log_use)."""
    found = await tuples.candidates_many(connection, user_id, [ask[0] for ask in asks])
    results: list[Decision] = []
    for (resource, permission, log_use), candidates in zip(asks, found, strict=True):
        access = permissions.effective(candidates, now)
        allowed = permissions.allows(access.relation if access else None, permission)
        logs = log_use and allowed and access is not None and not access.is_owner
        logged_at = None
        if logs:
            assert access is not None
            logged_at = await access_log.record_use(
                connection,
                resource,
                permission,
                at=now,
                actor_id=user_id,
                grant_id=uuid.UUID(access.grant_id) if access.grant_id else None,
                recent_views=recent_views,
            )
        lease = leases.lease_ms(
            now,
            allowed_read=allowed and permission is Permission.READ,
            grant_ends=access.expires_at if access else None,
            logged_view_at=logged_at,
            logs_view=logs,
        )
        results.append(Decision(allowed, access, lease))
    return results


def _given(
    best: Sequence[tuple[permissions.Relation, tuples.GroupCandidate] | None],
    allowed: Sequence[bool],
) -> Iterator[tuple[tuple[permissions.Relation, tuples.GroupCandidate], bool]]:
    """The (relation, row) of each id that has access, with whether the use is allowed."""
    for found, ok in zip(best, allowed, strict=True):
        if found is not None:
            yield found, ok


@dataclass(frozen=True)
class Group:
    """One user's checks of one permission on many resources of one type (16-byte ids)."""

    user_id: uuid.UUID
    resource_type: str
    permission: Permission
    log_use: bool
    resource_ids: Sequence[bytes]


@dataclass(frozen=True)
class GroupAnswers:
    """For each id of a group, in order: the strongest relation (None for none), allowed."""

    relations: list[permissions.Relation | None]
    allowed: list[bool]
    lease_ms: list[int]


async def check_groups(
    connection: DbConnection,
    groups: Sequence[Group],
    now: datetime,
    recent_views: access_log.RecentViews | None = None,
    *,
    leases: LeasePolicy = NO_LEASES,
) -> list[GroupAnswers]:
    """:func:`check` for every id of every group, set-wise.

    One lookup statement per user and type for all of its ids; the allowed reads by a
    non-owner not already covered by ``recent_views`` are logged in one statement, changes in
    another, with the same coalescing as :func:`check` (the guarded upsert decides).
    """
    by_asker: dict[tuple[uuid.UUID, str], list[int]] = {}
    for index, group in enumerate(groups):
        by_asker.setdefault((group.user_id, group.resource_type), []).append(index)
    answers = [GroupAnswers([], [], [])] * len(groups)  # each one is replaced below
    for (user_id, resource_type), indexes in by_asker.items():
        # Concurrent pages of one user share their ids: each distinct id is looked up once.
        distinct = list(dict.fromkeys(i for g in indexes for i in groups[g].resource_ids))
        position = {raw: n for n, raw in enumerate(distinct)}
        found = permissions.effective_each(
            await tuples.group_candidates(connection, user_id, resource_type, distinct),
            len(distinct),
            now,
        )
        views: dict[uuid.UUID, uuid.UUID | None] = {}
        changes: list[tuple[uuid.UUID, uuid.UUID | None]] = []
        for g in indexes:
            group = groups[g]
            best = [found[position[raw]] for raw in group.resource_ids]
            relations = [b[0] if b is not None else None for b in best]
            allowed = [permissions.allows(r, group.permission) for r in relations]
            answers[g] = GroupAnswers(relations, allowed, [])
            if not group.log_use or group.permission is Permission.SHARE:
                continue
            # Logged as check() logs: an allowed use by anyone but the owner, as (the
            # resource's id, the grant used) from the row that gave the access.
            used = (
                (resource_id, grant_id)
                for (relation, (*_, grant_id, resource_id)), ok in _given(best, allowed)
                if ok and relation is not permissions.Relation.OWNER
            )
            if group.permission is Permission.READ:
                views.update(used)
            else:
                changes.extend(used)
        marks = await access_log.record_views(
            connection, user_id, resource_type, views, at=now, recent_views=recent_views
        )
        await access_log.record_changes(connection, user_id, resource_type, changes, at=now)
        for g in indexes:
            answers[g].lease_ms.extend(
                _group_leases(
                    groups[g],
                    [found[position[raw]] for raw in groups[g].resource_ids],
                    marks,
                    now,
                    leases,
                )
            )
    return answers


def _group_leases(
    group: Group,
    best: Sequence[tuple[permissions.Relation, tuples.GroupCandidate] | None],
    marks: dict[uuid.UUID, datetime],
    now: datetime,
    leases: LeasePolicy,
) -> list[int]:
    """The lease of each id's answer (``decision_leases.py``): only allowed reads get one,
    capped by the end of the row that gave the access and, for a logged view, by its mark."""
    if leases.seconds <= 0 or group.permission is not Permission.READ:
        return [0] * len(best)
    result = []
    for found in best:
        if found is None:
            result.append(0)
            continue
        relation, (_, _, _, expires_at, _, resource_id) = found
        logs = group.log_use and relation is not permissions.Relation.OWNER
        result.append(
            leases.lease_ms(
                now,
                allowed_read=True,  # any relation found allows a read
                grant_ends=expires_at,
                logged_view_at=marks.get(resource_id) if logs else None,
                logs_view=logs,
            )
        )
    return result
