"""PurgeUser: auth's last step of an account deletion, everything sharing keeps of the user."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from services.common import fields
from services.common.callers import AUTH, require_caller
from services.sharing import purge
from services.sharing.rpc_base import RpcBase
from trackcc.sharing.v1 import sharing_service_pb2 as pb


class PurgeRpcs(RpcBase):
    """What auth may ask of sharing."""

    async def PurgeUser(  # noqa: N802
        self, request: pb.PurgeUserRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        require_caller(context, AUTH)
        user_id = fields.parse_uuid(request.user_id, "user_id")
        email = request.email.strip().lower()
        async with self._deps.pool.acquire() as connection, connection.transaction():
            await purge.purge_user(connection, user_id, email)
        # The user's grants are gone: answered once no decision lease given before can be used.
        await self._deps.leases.outlast_leases()
        return empty_pb2.Empty()
