"""The SharingService servicer, assembled from the RPC groups of the modules beside it.

Every group is a mixin of :class:`~services.sharing.rpc_base.RpcBase` and is listed here, in
one place: invitations, grants and the access log for users (through the gateway), the tuple
protocol for roster, purge for auth.
"""

from __future__ import annotations

from services.sharing.grant_rpcs import GrantRpcs
from services.sharing.invitation_rpcs import InvitationRpcs
from services.sharing.purge_rpcs import PurgeRpcs
from services.sharing.rpc_base import Deps
from services.sharing.tuple_rpcs import TupleRpcs
from trackcc.sharing.v1 import sharing_service_pb2_grpc as pb_grpc


class SharingServicer(
    InvitationRpcs, GrantRpcs, TupleRpcs, PurgeRpcs, pb_grpc.SharingServiceServicer
):
    """The whole service; constructed with its dependencies (see :class:`Deps`)."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
