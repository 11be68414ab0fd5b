"""Repository of grants: what an accepted invitation gave, until revoked, left or expired.

A grant row and the tuple it gave (carrying the grant's id) are created and removed together;
Check reads only the tuple, so removing it takes effect on the next request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from services.common.db import DbConnection
from services.sharing import access_log, tuples
from services.sharing.access_log import Action
from services.sharing.tuples import ResourceRef

_COLUMNS = (
    "id, resource_type, resource_id, grantee_id, grantee_email, relation, role, invitation_id,"
    " owner_id, owner_name, created_at, expires_at"
)


@dataclass(frozen=True)
class Grant:
    """One grant."""

    id: uuid.UUID
    resource: ResourceRef
    grantee_id: uuid.UUID
    grantee_email: str
    relation: str
    role: str
    invitation_id: uuid.UUID | None
    owner_id: uuid.UUID
    owner_name: str
    created_at: datetime
    expires_at: datetime | None


def _grant(row: asyncpg.Record) -> Grant:
    return Grant(
        id=row["id"],
        resource=ResourceRef(row["resource_type"], row["resource_id"]),
        grantee_id=row["grantee_id"],
        grantee_email=row["grantee_email"],
        relation=row["relation"],
        role=row["role"],
        invitation_id=row["invitation_id"],
        owner_id=row["owner_id"],
        owner_name=row["owner_name"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


async def create(connection: DbConnection, grant: Grant) -> Grant:
    """Stores the grant and gives its tuple."""
    await connection.execute(
        f"""
        INSERT INTO grants ({_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        """,
        grant.id,
        grant.resource.type,
        grant.resource.id,
        grant.grantee_id,
        grant.grantee_email,
        grant.relation,
        grant.role,
        grant.invitation_id,
        grant.owner_id,
        grant.owner_name,
        grant.created_at,
        grant.expires_at,
    )
    await tuples.grant_tuple(
        connection, grant.resource, grant.relation, grant.grantee_id, grant.id, grant.expires_at
    )
    return grant


async def create_or_widen(connection: DbConnection, grant: Grant, now: datetime) -> Grant:
    """Stores the grant; or, when its grantee already holds that relation on the resource,
    widens the grant they hold to the later of the two ends, under the newly proven address,
    and returns it.

    One grant per resource, relation and user, because there is one tuple for them: a second
    grant (the same person invited again at another address, after changing their email)
    used to take the tuple over, so that revoking either grant, or the end of the second,
    took away the access the other one still promised. Accepting never narrows access.
    Runs inside the accepting transaction, whose lock keeps two accepts from both creating.
    """
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        f"grant:{grant.resource.type}:{grant.resource.id}:{grant.relation}:{grant.grantee_id}",
    )
    row = await connection.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM grants
         WHERE resource_type = $1 AND resource_id = $2 AND relation = $3 AND grantee_id = $4
           AND (expires_at IS NULL OR expires_at > $5)
         ORDER BY created_at, id
         LIMIT 1
           FOR UPDATE
        """,
        grant.resource.type,
        grant.resource.id,
        grant.relation,
        grant.grantee_id,
        now,
    )
    if row is None:
        return await create(connection, grant)
    held = _grant(row)
    ends = (
        None
        if held.expires_at is None or grant.expires_at is None
        else max(held.expires_at, grant.expires_at)
    )
    if (ends, grant.grantee_email) != (held.expires_at, held.grantee_email):
        # The address just proven is the one the owner's list should show, and the one that
        # makes the next invitation to it "already shared".
        await connection.execute(
            "UPDATE grants SET expires_at = $2, grantee_email = $3 WHERE id = $1",
            held.id,
            ends,
            grant.grantee_email,
        )
        held = replace(held, expires_at=ends, grantee_email=grant.grantee_email)
    await tuples.grant_tuple(
        connection, held.resource, held.relation, held.grantee_id, held.id, held.expires_at
    )
    return held


async def get(connection: DbConnection, grant_id: uuid.UUID) -> Grant | None:
    """A grant by id."""
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM grants WHERE id = $1", grant_id)
    return _grant(row) if row else None


async def delete(connection: DbConnection, grant_id: uuid.UUID) -> Grant | None:
    """Ends a grant; of two concurrent deletes only one gets the row back."""
    row = await connection.fetchrow(
        f"DELETE FROM grants WHERE id = $1 RETURNING {_COLUMNS}", grant_id
    )
    if row is None:
        return None
    await tuples.delete_by_grant(connection, [grant_id])
    return _grant(row)


async def has_active_grant(
    connection: DbConnection, resource: ResourceRef, email: str, now: datetime
) -> bool:
    """Whether the address already holds a grant on the resource."""
    found = await connection.fetchval(
        """
        SELECT 1 FROM grants
         WHERE resource_type = $1 AND resource_id = $2 AND grantee_email = $3
           AND (expires_at IS NULL OR expires_at > $4)
        """,
        resource.type,
        resource.id,
        email,
        now,
    )
    return found is not None


async def sweep_expired(
    connection: DbConnection,
    now: datetime,
    *,
    resource: ResourceRef | None = None,
    grantee_id: uuid.UUID | None = None,
) -> int:
    """Removes ended grants (of a resource or a grantee) and logs each as ``expired``.

    Check already ignores them from ``expires_at`` on; this tidies up and writes the log
    entry, dated at the instant the grant ended, whenever someone looks.
    """
    rows = await connection.fetch(
        f"""
        DELETE FROM grants
         WHERE expires_at <= $1
           AND ($2::text IS NULL OR (resource_type = $2::text AND resource_id = $3::uuid))
           AND ($4::uuid IS NULL OR grantee_id = $4::uuid)
        RETURNING {_COLUMNS}
        """,
        now,
        resource.type if resource else None,
        resource.id if resource else None,
        grantee_id,
    )
    ended = [_grant(row) for row in rows]
    await tuples.delete_by_grant(connection, [g.id for g in ended])
    for grant in ended:
        assert grant.expires_at is not None
        await access_log.record(
            connection,
            grant.resource,
            Action.EXPIRED,
            at=grant.expires_at,
            actor_id=grant.grantee_id,
            actor_email=grant.grantee_email,
            grant_id=grant.id,
        )
    return len(ended)


async def for_resource(
    connection: DbConnection,
    resource: ResourceRef,
    now: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Grant]:
    """Active grants on a resource, oldest first."""
    rows = await connection.fetch(
        f"""
        SELECT {_COLUMNS} FROM grants
         WHERE resource_type = $1 AND resource_id = $2
           AND (expires_at IS NULL OR expires_at > $3)
           AND ($4::timestamptz IS NULL OR (created_at, id) > ($4::timestamptz, $5::uuid))
         ORDER BY created_at, id
         LIMIT $6
        """,
        resource.type,
        resource.id,
        now,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_grant(row) for row in rows]


async def for_grantee(
    connection: DbConnection,
    grantee_id: uuid.UUID,
    now: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Grant]:
    """Active grants held by a user, newest first."""
    rows = await connection.fetch(
        f"""
        SELECT {_COLUMNS} FROM grants
         WHERE grantee_id = $1 AND (expires_at IS NULL OR expires_at > $2)
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
         ORDER BY created_at DESC, id DESC
         LIMIT $5
        """,
        grantee_id,
        now,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_grant(row) for row in rows]


async def delete_for_resource(connection: DbConnection, resource: ResourceRef) -> None:
    """Every grant on a resource (its tuples go with the resource's tuples)."""
    await connection.execute(
        "DELETE FROM grants WHERE resource_type = $1 AND resource_id = $2",
        resource.type,
        resource.id,
    )


async def delete_for_grantee(connection: DbConnection, grantee_id: uuid.UUID) -> None:
    """Every grant a user holds (its tuples go with the user's tuples)."""
    await connection.execute("DELETE FROM grants WHERE grantee_id = $1", grantee_id)
