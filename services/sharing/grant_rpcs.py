"""Grant methods: the owner's list, revoke or leave, what is shared with me, the access log."""

from __future__ import annotations

import uuid
from datetime import datetime

import grpc
from google.protobuf import empty_pb2

from services.common import fields, pagination
from services.sharing import access_log, checks, convert, grants, invitations
from services.sharing.access_log import Action
from services.sharing.grants import Grant
from services.sharing.permissions import Permission, allows
from services.sharing.rpc_base import RpcBase, not_found, require_share
from trackcc.sharing.v1 import sharing_service_pb2 as pb


def _time_and_id(grant: Grant) -> tuple[datetime, uuid.UUID]:
    """The sort key of the grant lists (newest first)."""
    return grant.created_at, grant.id


class GrantRpcs(RpcBase):
    """Grants as the owner and the grantee see them."""

    async def ListGrants(  # noqa: N802 - gRPC method name
        self, request: pb.ListGrantsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListGrantsResponse:
        user = self._user(context)
        resource = convert.resource_ref(request.resource)
        size = pagination.page_size(request.page_size)
        after = pagination.time_uuid_key(request.page_token, "grants")
        now = self._now()
        async with self._deps.pool.acquire() as connection, connection.transaction():
            await require_share(connection, user.id, resource, now, readers_get_403=False)
            await grants.sweep_expired(connection, now, resource=resource)
            found = await grants.for_resource(connection, resource, now, after, size + 1)
        page, next_token = pagination.time_page(found, size, "grants", _time_and_id)
        return pb.ListGrantsResponse(
            grants=[convert.grant_pb(g) for g in page], next_page_token=next_token
        )

    async def DeleteGrant(  # noqa: N802
        self, request: pb.DeleteGrantRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        user = self._user(context)
        grant_id = fields.parse_uuid(request.grant_id, "grant_id")
        now = self._now()
        async with self._deps.pool.acquire() as connection, connection.transaction():
            grant = await grants.get(connection, grant_id)
            if grant is None:
                raise not_found("grant")
            if grant.grantee_id == user.id:
                action = Action.LEFT
            else:
                access = await checks.access_of(connection, user.id, grant.resource, now)
                if access is None or not allows(access.relation, Permission.SHARE):
                    raise not_found("grant")
                action = Action.REVOKED
            # The guarded delete decides between two concurrent deletes of one grant.
            if await grants.delete(connection, grant_id) is None:
                raise not_found("grant")
            await access_log.record(
                connection,
                grant.resource,
                action,
                at=now,
                actor_id=user.id,
                actor_email=user.email,
                grant_id=grant.id,
            )
        # docs/api.md: a revoke takes effect on the next request; roster may reuse an answer
        # given before the commit until its decision lease runs out (``decision_leases.py``).
        await self._deps.leases.outlast_leases()
        return empty_pb2.Empty()

    async def ListSharedWithMe(  # noqa: N802
        self, request: pb.ListSharedWithMeRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSharedWithMeResponse:
        user = self._user(context)
        size = pagination.page_size(request.page_size)
        after = pagination.time_uuid_key(request.page_token, "shared-with-me")
        now = self._now()
        async with self._deps.pool.acquire() as connection, connection.transaction():
            await grants.sweep_expired(connection, now, grantee_id=user.id)
            found = await grants.for_grantee(connection, user.id, now, after, size + 1)
        page, next_token = pagination.time_page(found, size, "shared-with-me", _time_and_id)
        return pb.ListSharedWithMeResponse(
            resources=[
                pb.SharedResource(
                    resource=convert.resource_pb(g.resource),
                    relation=convert.RELATIONS_PB[g.relation],
                    owner_id=str(g.owner_id),
                    owner_display_name=g.owner_name,
                    grant_id=str(g.id),
                )
                for g in page
            ],
            next_page_token=next_token,
        )

    async def ListAccessLog(  # noqa: N802
        self, request: pb.ListAccessLogRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAccessLogResponse:
        user = self._user(context)
        resource = convert.resource_ref(request.resource)
        size = pagination.page_size(request.page_size)
        key = pagination.time_key(request.page_token, "access-log")
        after = (key[0], pagination.bigint_key(key[1])) if key else None
        now = self._now()
        async with self._deps.pool.acquire() as connection, connection.transaction():
            await require_share(connection, user.id, resource, now, readers_get_403=False)
            # Ends that nobody has looked at yet are written now, dated when they happened.
            await grants.sweep_expired(connection, now, resource=resource)
            await invitations.expire_due(connection, now, resource=resource)
            found = await access_log.page(connection, resource, after, size + 1)
        page, next_token = pagination.time_page(found, size, "access-log", lambda e: (e.at, e.id))
        return pb.ListAccessLogResponse(
            entries=[convert.entry_pb(e) for e in page], next_page_token=next_token
        )
