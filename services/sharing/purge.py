"""Removal of a deleted resource or a deleted account from the sharing schema; idempotent."""

from __future__ import annotations

import uuid

from services.common.db import DbConnection
from services.sharing import access_log, grants, tuples
from services.sharing.tuples import ResourceRef


async def purge_resource(connection: DbConnection, resource: ResourceRef) -> bool:
    """Tuples, grants, invitations and the access log of a resource (call in a transaction).

    Returns whether someone's access to another resource narrowed (``tuples.delete_resource``).
    """
    narrowed = await tuples.delete_resource(connection, resource)
    await grants.delete_for_resource(connection, resource)
    await _delete_invitations_of_resource(connection, resource)
    # Last: the log function refuses while an owner tuple exists, and it no longer does.
    await access_log.purge(connection, resource)
    return narrowed


async def purge_user(connection: DbConnection, user_id: uuid.UUID, email: str) -> None:
    """Everything of a user, as owner (with the resources) and as grantee or invitee."""
    for resource in await tuples.owned_resources(connection, user_id):
        await purge_resource(connection, resource)
    await tuples.delete_subject(connection, user_id)
    await grants.delete_for_grantee(connection, user_id)
    await _delete_invitations_of_user(connection, user_id, email.strip().lower())
    await connection.execute("DELETE FROM view_marks WHERE actor_id = $1", user_id)


async def _delete_invitations_of_resource(connection: DbConnection, resource: ResourceRef) -> None:
    """Every invitation to a resource."""
    await connection.execute(
        "DELETE FROM invitations WHERE resource_type = $1 AND resource_id = $2",
        resource.type,
        resource.id,
    )


async def _delete_invitations_of_user(
    connection: DbConnection, user_id: uuid.UUID, email: str
) -> None:
    """Invitations the user sent, accepted, or that are addressed to the user's email."""
    await connection.execute(
        "DELETE FROM invitations WHERE inviter_id = $1 OR accepted_by = $1"
        " OR ($2 <> '' AND email = $2)",
        user_id,
        email,
    )
