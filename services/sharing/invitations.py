"""The invitation state machine: pending -> accepted | declined | revoked | expired.

Every transition is one guarded ``UPDATE ... WHERE status = 'pending' ... RETURNING``: of two
concurrent accepts of one token the second waits for the first's row lock, then finds the
row no longer pending and changes nothing. Tokens are 256 random bits; only their SHA-256 is
stored, and a resend replaces it so the old link dies.

When an invitation expires
--------------------------
An invitation is pending for :data:`INVITATION_TTL` from its creation or its last resend
(:func:`create`, :func:`rotate_token`); at ``expires_at`` itself it no longer is. Nothing
runs at that moment: every transition's ``UPDATE`` requires ``expires_at > now``
(:func:`respond`, :func:`revoke`, :func:`rotate_token`), and :func:`expire_due` writes the
state ``expired`` (with its access-log entry, dated when it happened) whenever someone could
see it:

- before a new invitation to the same address and resource (``CreateInvitation``);
- before a list of sent or received invitations (``ListInvitations``);
- before the access log of the resource is read (``ListAccessLog``, with
  ``grants.sweep_expired`` for the grants);
- when a transition found the invitation no longer pending (:func:`explain_refusal`, for
  accept, decline, resend and revoke), so the refusal says ``invitation_expired``.

:func:`refusal` names why an invitation is no longer usable. The grant an accepted invitation
creates has its own end (``grant_expires_at``, ``grants.py``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from services.common import errors, reasons
from services.common.db import DbConnection
from services.sharing import access_log
from services.sharing.access_log import Action
from services.sharing.tuples import ResourceRef

TOKEN_BYTES = 32
INVITATION_TTL = timedelta(days=14)

_COLUMNS = (
    "id, resource_type, resource_id, email, relation, role, status, inviter_id, inviter_name,"
    " message, grant_expires_at, accepted_by, created_at, updated_at, expires_at"
)


class Status(StrEnum):
    """Invitation states."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Invitation:
    """One invitation (never its token)."""

    id: uuid.UUID
    resource: ResourceRef
    email: str
    relation: str
    role: str
    status: Status
    inviter_id: uuid.UUID
    inviter_name: str
    message: str
    grant_expires_at: datetime | None
    accepted_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


def _invitation(row: asyncpg.Record) -> Invitation:
    values = dict(row)
    resource = ResourceRef(values.pop("resource_type"), values.pop("resource_id"))
    values["status"] = Status(values["status"])
    return Invitation(resource=resource, **values)


def new_token() -> tuple[str, bytes]:
    """A fresh token for the mail and the hash to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    """What the table stores instead of the token."""
    return hashlib.sha256(token.encode()).digest()


async def create(
    connection: DbConnection,
    *,
    resource: ResourceRef,
    email: str,
    relation: str,
    role: str,
    inviter_id: uuid.UUID,
    inviter_name: str,
    message: str,
    grant_expires_at: datetime | None,
    token_hash: bytes,
    now: datetime,
) -> Invitation | None:
    """A new pending invitation, or None when one is already pending for that address."""
    row = await connection.fetchrow(
        f"""
        INSERT INTO invitations (id, resource_type, resource_id, email, relation, role,
                                 inviter_id, inviter_name, message, grant_expires_at,
                                 token_hash, created_at, updated_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
        ON CONFLICT (resource_type, resource_id, email) WHERE status = 'pending' DO NOTHING
        RETURNING {_COLUMNS}
        """,
        uuid.uuid4(),
        resource.type,
        resource.id,
        email,
        relation,
        role,
        inviter_id,
        inviter_name,
        message,
        grant_expires_at,
        token_hash,
        now,
        now + INVITATION_TTL,
    )
    return _invitation(row) if row else None


async def by_token(connection: DbConnection, token_hash: bytes) -> Invitation | None:
    """The invitation of a token hash."""
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM invitations WHERE token_hash = $1", token_hash
    )
    return _invitation(row) if row else None


async def by_id(connection: DbConnection, invitation_id: uuid.UUID) -> Invitation | None:
    """An invitation by id."""
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM invitations WHERE id = $1", invitation_id
    )
    return _invitation(row) if row else None


async def respond(
    connection: DbConnection,
    token_hash: bytes,
    *,
    email: str,
    user_id: uuid.UUID,
    to: Status,
    now: datetime,
) -> Invitation | None:
    """pending -> accepted or declined, for the invited address only, while still valid."""
    assert to in (Status.ACCEPTED, Status.DECLINED)
    row = await connection.fetchrow(
        f"""
        UPDATE invitations
           SET status = $2, updated_at = $5,
               accepted_by = CASE WHEN $2 = 'accepted' THEN $4::uuid END
         WHERE token_hash = $1 AND status = 'pending' AND email = $3 AND expires_at > $5
           AND (grant_expires_at IS NULL OR grant_expires_at > $5)
        RETURNING {_COLUMNS}
        """,
        token_hash,
        to.value,
        email,
        user_id,
        now,
    )
    return _invitation(row) if row else None


async def revoke(
    connection: DbConnection, invitation_id: uuid.UUID, now: datetime
) -> Invitation | None:
    """pending -> revoked."""
    row = await connection.fetchrow(
        f"""
        UPDATE invitations SET status = 'revoked', updated_at = $2
         WHERE id = $1 AND status = 'pending' AND expires_at > $2
        RETURNING {_COLUMNS}
        """,
        invitation_id,
        now,
    )
    return _invitation(row) if row else None


async def rotate_token(
    connection: DbConnection, invitation_id: uuid.UUID, token_hash: bytes, now: datetime
) -> Invitation | None:
    """A pending invitation gets a new token and a new 14 days; the old token stops working."""
    row = await connection.fetchrow(
        f"""
        UPDATE invitations SET token_hash = $2, updated_at = $3, expires_at = $4
         WHERE id = $1 AND status = 'pending' AND expires_at > $3
        RETURNING {_COLUMNS}
        """,
        invitation_id,
        token_hash,
        now,
        now + INVITATION_TTL,
    )
    return _invitation(row) if row else None


async def expire_due(
    connection: DbConnection,
    now: datetime,
    *,
    invitation_id: uuid.UUID | None = None,
    resource: ResourceRef | None = None,
    inviter_id: uuid.UUID | None = None,
    email: str | None = None,
) -> int:
    """pending -> expired for those past their end (one filter given); each is logged."""
    rows = await connection.fetch(
        f"""
        UPDATE invitations SET status = 'expired', updated_at = $1
         WHERE status = 'pending' AND expires_at <= $1
           AND ($2::uuid IS NULL OR id = $2::uuid)
           AND ($3::text IS NULL OR (resource_type = $3::text AND resource_id = $4::uuid))
           AND ($5::uuid IS NULL OR inviter_id = $5::uuid)
           AND ($6::text IS NULL OR email = $6::text)
        RETURNING {_COLUMNS}
        """,
        now,
        invitation_id,
        resource.type if resource else None,
        resource.id if resource else None,
        inviter_id,
        email,
    )
    for row in rows:
        invitation = _invitation(row)
        await access_log.record(
            connection,
            invitation.resource,
            Action.EXPIRED,
            at=invitation.expires_at,
            actor_id=None,
            actor_email=invitation.email,
        )
    return len(rows)


def invalid_token() -> errors.InvalidArgument:
    """The answer for a token that names no invitation (HTTP 400 invalid_token)."""
    return errors.InvalidArgument(
        "the invitation token is not valid",
        reason=reasons.INVALID_TOKEN,
        field_violations=[("token", "unknown")],
    )


def refusal(invitation: Invitation | None, email: str, now: datetime) -> errors.ServiceError:
    """Why a token did not lead to a transition: the API's error for that state."""
    if invitation is None:
        return invalid_token()
    if invitation.email != email:
        # Checked before the state so that someone else's token reveals nothing about it.
        return errors.PermissionDenied(
            "this invitation was sent to another email address", reason=reasons.EMAIL_MISMATCH
        )
    if invitation.status in (Status.ACCEPTED, Status.DECLINED):
        return errors.FailedPrecondition(
            "the invitation was already answered", reason=reasons.INVITATION_USED
        )
    if invitation.status is Status.REVOKED:
        return errors.FailedPrecondition(
            "the invitation was revoked", reason=reasons.INVITATION_REVOKED
        )
    if invitation.status is Status.EXPIRED or invitation.expires_at <= now:
        return errors.FailedPrecondition(
            "the invitation has expired", reason=reasons.INVITATION_EXPIRED
        )
    if invitation.grant_expires_at is not None and invitation.grant_expires_at <= now:
        return errors.FailedPrecondition(
            "the access it offered has ended", reason=reasons.INVITATION_EXPIRED
        )
    return errors.Aborted("the invitation changed meanwhile; try again")


async def explain_refusal(
    connection: DbConnection, invitation: Invitation | None, email: str, now: datetime
) -> errors.ServiceError:
    """Why a transition found ``invitation`` no longer pending; one past its end is recorded as
    expired first (for the address it was sent to only), so the log and the answer agree."""
    if invitation is not None and invitation.email == email:
        await expire_due(connection, now, invitation_id=invitation.id)
        invitation = await by_id(connection, invitation.id)
    return refusal(invitation, email, now)


async def page(
    connection: DbConnection,
    *,
    inviter_id: uuid.UUID | None,
    email: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Invitation]:
    """Invitations sent by someone or addressed to an email, newest first."""
    rows = await connection.fetch(
        f"""
        SELECT {_COLUMNS} FROM invitations
         WHERE ($1::uuid IS NULL OR inviter_id = $1::uuid)
           AND ($2::text IS NULL OR email = $2::text)
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
         ORDER BY created_at DESC, id DESC
         LIMIT $5
        """,
        inviter_id,
        email,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_invitation(row) for row in rows]
