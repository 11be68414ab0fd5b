"""GetJwks: the public keys that verify access tokens, for the gateway and the other services."""

from __future__ import annotations

import grpc

from services.auth.rpc_base import RpcBase
from trackcc.auth.v1 import auth_service_pb2 as pb


class JwksRpcs(RpcBase):
    """GetJwks."""

    async def GetJwks(
        self, request: pb.GetJwksRequest, context: grpc.aio.ServicerContext
    ) -> pb.Jwks:
        return pb.Jwks(json=self._deps.jwks_json)
