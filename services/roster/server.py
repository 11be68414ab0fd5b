"""The RosterService servicer: the RPC groups of the modules beside it, all listed here.

Every group is a mixin of :class:`~services.roster.rpc_base.RpcBase`; its dependencies come
in through one :class:`~services.roster.rpc_base.Deps`.
"""

from __future__ import annotations

from services.roster.account_rpcs import AccountRpcs
from services.roster.class_rpcs import ClassRpcs
from services.roster.enrollment_rpcs import EnrollmentRpcs
from services.roster.photo_rpcs import PhotoRpcs
from services.roster.rpc_base import Deps
from services.roster.student_rpcs import StudentRpcs
from trackcc.roster.v1 import roster_service_pb2_grpc as pb_grpc


class RosterServicer(
    ClassRpcs,
    StudentRpcs,
    EnrollmentRpcs,
    PhotoRpcs,
    AccountRpcs,
    pb_grpc.RosterServiceServicer,
):
    """The whole service; constructed with its dependencies (see :class:`Deps`)."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
