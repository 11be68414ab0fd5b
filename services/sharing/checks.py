"""Check: a user's effective access to a resource, and the log entry a non-owner's use makes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from services.common.db import DbConnection
from services.sharing import access_log, permissions, tuples
from services.sharing.permissions import Access, Permission
from services.sharing.tuples import ResourceRef


async def access_of(
    connection: DbConnection, user_id: uuid.UUID, resource: ResourceRef, now: datetime
) -> Access | None:
    """The strongest active relation the user holds, directly or through a class."""
    return permissions.effective(await tuples.candidates(connection, user_id, resource), now)


async def check(
    connection: DbConnection,
    user_id: uuid.UUID,
    resource: ResourceRef,
    permission: Permission,
    now: datetime,
    recent_views: access_log.RecentViews | None = None,
    *,
    log_use: bool = True,
) -> tuple[bool, Access | None]:
    """Whether the permission is allowed; an allowed read or change by a non-owner is logged.

    Logging here, where the decision is made, means every read or change that roster lets
    through appears in the owner's log without roster having to remember to report it.
    ``log_use=False`` is for a read that only filters which ids a caller is shown.
    """
    access = await access_of(connection, user_id, resource, now)
    allowed = permissions.allows(access.relation if access else None, permission)
    if log_use and allowed and access is not None and not access.is_owner:
        await access_log.record_use(
            connection,
            resource,
            permission,
            at=now,
            actor_id=user_id,
            grant_id=uuid.UUID(access.grant_id) if access.grant_id else None,
            recent_views=recent_views,
        )
    return allowed, access


async def check_many(
    connection: DbConnection,
    user_id: uuid.UUID,
    asks: Sequence[tuple[ResourceRef, Permission, bool]],
    now: datetime,
    recent_views: access_log.RecentViews | None = None,
) -> list[tuple[bool, Access | None]]:
    """:func:`check` for several resources of one user, with one lookup statement; each ask
    is (resource, permission, log_use)."""
    found = await tuples.candidates_many(connection, user_id, [ask[0] for ask in asks])
    results: list[tuple[bool, Access | None]] = []
    for (resource, permission, log_use), candidates in zip(asks, found, strict=True):
        access = permissions.effective(candidates, now)
        allowed = permissions.allows(access.relation if access else None, permission)
        if log_use and allowed and access is not None and not access.is_owner:
            await access_log.record_use(
                connection,
                resource,
                permission,
                at=now,
                actor_id=user_id,
                grant_id=uuid.UUID(access.grant_id) if access.grant_id else None,
                recent_views=recent_views,
            )
        results.append((allowed, access))
    return results
