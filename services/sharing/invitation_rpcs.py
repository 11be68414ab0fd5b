"""Invitation methods: create (with the mail), list, accept, decline, resend, revoke."""

from __future__ import annotations

import uuid
from datetime import datetime

import grpc
from google.protobuf import empty_pb2

from services.common import fields, idempotency, outbox, pagination, reasons
from services.common.db import DbConnection
from services.common.errors import AlreadyExists, ServiceError
from services.sharing import (
    access_log,
    convert,
    grants,
    invitations,
    mail,
)
from services.sharing.access_log import Action
from services.sharing.grants import Grant
from services.sharing.invitations import Invitation, Status
from services.sharing.rpc_base import RpcBase, User, not_found, require_share
from trackcc.sharing.v1 import sharing_service_pb2 as pb

MAX_MESSAGE_CHARS = 1000
MAX_TOKEN_CHARS = 128
# The operation an Idempotency-Key is bound to (services/common/idempotency.py).
CREATE_INVITATION = idempotency.operation_name(pb.DESCRIPTOR, "SharingService", "CreateInvitation")


def _token_hash(token: str) -> bytes:
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise invitations.invalid_token()
    return invitations.hash_token(token)


class InvitationRpcs(RpcBase):
    """The invitation flow of docs/api.md; only the owner invites, resends and revokes."""

    async def _enqueue_mail(
        self, connection: DbConnection, invitation: Invitation, token: str, now: datetime
    ) -> None:
        subject, body = mail.invitation_mail(
            public_url=self._deps.public_url,
            inviter_name=invitation.inviter_name,
            resource_type=invitation.resource.type,
            relation=invitation.relation,
            message=invitation.message,
            token=token,
        )
        await outbox.enqueue(
            connection, recipient=invitation.email, subject=subject, body=body, now=now
        )

    async def CreateInvitation(  # noqa: N802 - gRPC method name
        self, request: pb.CreateInvitationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Invitation:
        user = self._user(context)
        resource = convert.resource_ref(request.resource)
        email = convert.normalize_email(request.email)
        relation = convert.RELATIONS.get(request.relation)
        if relation not in ("viewer", "editor"):
            raise fields.invalid("relation", "must be VIEWER or EDITOR")
        role = convert.ROLES.get(request.role)
        if role is None:
            raise fields.invalid("role", "must be GUARDIAN, ADVISOR, STUDENT or TEACHER")
        message = request.message.strip()
        if len(message) > MAX_MESSAGE_CHARS:
            raise fields.invalid("message", f"at most {MAX_MESSAGE_CHARS} characters")
        request_id = idempotency.checked_request_id(request.request_id)
        now = self._now()
        grant_expires_at = None
        if request.HasField("grant_expire_time"):
            grant_expires_at = convert.from_timestamp(request.grant_expire_time)
            if grant_expires_at <= now:
                raise fields.invalid("grant_expire_time", "must be in the future")
        async with self._deps.pool.acquire() as connection, connection.transaction():
            # Authorization first: a replay must not answer someone who may no longer share
            # (a revoked editor, a deleted resource) with the invitation it once made.
            await require_share(connection, user.id, resource, now, readers_get_403=True)
            if request_id:
                replay = await idempotency.claim(
                    connection, user.id, request_id, CREATE_INVITATION, request, now
                )
                if replay is not None:
                    return pb.Invitation.FromString(replay)
            if email == user.email or await grants.has_active_grant(
                connection, resource, email, now
            ):
                raise AlreadyExists(
                    "that address already has access", reason=reasons.ALREADY_SHARED
                )
            await invitations.expire_due(connection, now, resource=resource, email=email)
            token, token_hash = invitations.new_token()
            invitation = await invitations.create(
                connection,
                resource=resource,
                email=email,
                relation=relation,
                role=role,
                inviter_id=user.id,
                inviter_name=user.principal.display_name,
                message=message,
                grant_expires_at=grant_expires_at,
                token_hash=token_hash,
                now=now,
            )
            if invitation is None:
                raise AlreadyExists(
                    "an invitation to that address is pending; resend it instead",
                    reason=reasons.ALREADY_INVITED,
                )
            await self._enqueue_mail(connection, invitation, token, now)
            await access_log.record(
                connection,
                resource,
                Action.INVITED,
                at=now,
                actor_id=user.id,
                actor_email=user.email,
            )
            response = convert.invitation_pb(invitation)
            if request_id:
                await idempotency.finish(
                    connection, user.id, request_id, response.SerializeToString()
                )
        self._deps.mail_enqueued()
        return response

    async def ListInvitations(  # noqa: N802
        self, request: pb.ListInvitationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInvitationsResponse:
        user = self._user(context)
        size = pagination.page_size(request.page_size)
        after = pagination.time_uuid_key(request.page_token, "invitations")
        if request.direction == pb.INVITATION_DIRECTION_SENT:
            inviter_id, email = user.id, None
        elif request.direction == pb.INVITATION_DIRECTION_RECEIVED:
            # Only a verified address sees what was sent to it: anyone can sign up with
            # someone else's email, but only its owner can verify it.
            if not user.principal.email_verified or not user.email:
                return pb.ListInvitationsResponse()
            inviter_id, email = None, user.email
        else:
            raise fields.invalid("direction", "must be SENT or RECEIVED")
        now = self._now()
        async with self._deps.pool.acquire() as connection, connection.transaction():
            await invitations.expire_due(connection, now, inviter_id=inviter_id, email=email)
            found = await invitations.page(
                connection, inviter_id=inviter_id, email=email, after=after, limit=size + 1
            )
        page, next_token = pagination.time_page(
            found, size, "invitations", lambda i: (i.created_at, i.id)
        )
        return pb.ListInvitationsResponse(
            invitations=[convert.invitation_pb(i) for i in page], next_page_token=next_token
        )

    async def _respond(self, user: User, token: str, to: Status) -> tuple[Invitation, Grant | None]:
        """Accepts or declines; the refusal is raised after the transaction has committed,
        so that an invitation found past its end is recorded as expired."""
        token_hash = _token_hash(token)
        now = self._now()
        error: ServiceError | None = None
        grant: Grant | None = None
        async with self._deps.pool.acquire() as connection, connection.transaction():
            invitation = await invitations.respond(
                connection, token_hash, email=user.email, user_id=user.id, to=to, now=now
            )
            if invitation is None:
                current = await invitations.by_token(connection, token_hash)
                error = await invitations.explain_refusal(connection, current, user.email, now)
            elif to is Status.ACCEPTED:
                grant = await grants.create_or_widen(
                    connection,
                    Grant(
                        id=uuid.uuid4(),
                        resource=invitation.resource,
                        grantee_id=user.id,
                        grantee_email=invitation.email,
                        relation=invitation.relation,
                        role=invitation.role,
                        invitation_id=invitation.id,
                        owner_id=invitation.inviter_id,
                        owner_name=invitation.inviter_name,
                        created_at=now,
                        expires_at=invitation.grant_expires_at,
                    ),
                    now,
                )
            if invitation is not None:
                await access_log.record(
                    connection,
                    invitation.resource,
                    Action.ACCEPTED if to is Status.ACCEPTED else Action.DECLINED,
                    at=now,
                    actor_id=user.id,
                    actor_email=invitation.email,
                    grant_id=grant.id if grant else None,
                )
        if error is not None or invitation is None:
            raise error or not_found("invitation")
        return invitation, grant

    async def AcceptInvitation(  # noqa: N802
        self, request: pb.AcceptInvitationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Grant:
        invitation, grant = await self._respond(self._user(context), request.token, Status.ACCEPTED)
        assert grant is not None
        response = convert.grant_pb(grant)
        # Following the mailed link proves control of the address; the gateway tells auth.
        response.proven_email = invitation.email
        return response

    async def DeclineInvitation(  # noqa: N802
        self, request: pb.DeclineInvitationRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self._respond(self._user(context), request.token, Status.DECLINED)
        return empty_pb2.Empty()

    async def _owned_invitation(
        self, connection: DbConnection, user: User, invitation_id: str, now: datetime
    ) -> Invitation:
        invitation = await invitations.by_id(
            connection, fields.parse_uuid(invitation_id, "invitation_id")
        )
        if invitation is None:
            raise not_found("invitation")
        await require_share(connection, user.id, invitation.resource, now, readers_get_403=True)
        return invitation

    async def ResendInvitation(  # noqa: N802
        self, request: pb.ResendInvitationRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        user = self._user(context)
        now = self._now()
        error: ServiceError | None = None
        async with self._deps.pool.acquire() as connection, connection.transaction():
            invitation = await self._owned_invitation(connection, user, request.invitation_id, now)
            token, token_hash = invitations.new_token()
            rotated = await invitations.rotate_token(connection, invitation.id, token_hash, now)
            if rotated is None:
                error = await invitations.explain_refusal(
                    connection, invitation, invitation.email, now
                )
            else:
                await self._enqueue_mail(connection, rotated, token, now)
        if error is not None:
            raise error
        self._deps.mail_enqueued()
        return empty_pb2.Empty()

    async def RevokeInvitation(  # noqa: N802
        self, request: pb.RevokeInvitationRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        user = self._user(context)
        now = self._now()
        error: ServiceError | None = None
        async with self._deps.pool.acquire() as connection, connection.transaction():
            invitation = await self._owned_invitation(connection, user, request.invitation_id, now)
            revoked = await invitations.revoke(connection, invitation.id, now)
            if revoked is not None:
                await access_log.record(
                    connection,
                    revoked.resource,
                    Action.REVOKED,
                    at=now,
                    actor_id=user.id,
                    actor_email=user.email,
                )
            elif invitation.status is not Status.REVOKED:
                # Revoking twice is fine (DELETE is idempotent); anything else is explained.
                error = await invitations.explain_refusal(
                    connection, invitation, invitation.email, now
                )
        if error is not None:
            raise error
        return empty_pb2.Empty()
