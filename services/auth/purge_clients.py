"""auth's only outgoing calls: asking roster and sharing to purge a deleted account.

Both purge methods are idempotent, so the deletion worker simply calls again after any
failure. Channels are mTLS with auth's own certificate: the callee knows it is auth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol, cast

import grpc

from services.common.tls import GrpcTarget, TlsFiles, secure_channel
from trackcc.roster.v1 import roster_service_pb2, roster_service_pb2_grpc
from trackcc.sharing.v1 import sharing_service_pb2, sharing_service_pb2_grpc

CALL_TIMEOUT_SECONDS: Final = 20.0


@dataclass(frozen=True)
class RosterPurged:
    """What roster removed."""

    classes: int
    students: int


class PurgeClients(Protocol):
    """The two purge calls; any grpc.aio.AioRpcError means: try again later."""

    async def purge_roster(self, account_id: str) -> RosterPurged: ...

    async def purge_sharing(self, account_id: str, email: str) -> None: ...

    async def aclose(self) -> None: ...


class GrpcPurgeClients:
    """Long-lived channels to roster and sharing."""

    def __init__(
        self, roster_target: str | GrpcTarget, sharing_target: str | GrpcTarget, tls: TlsFiles
    ) -> None:
        self._roster_channel = secure_channel(roster_target, tls)
        self._sharing_channel = secure_channel(sharing_target, tls)
        # grpc has no type information, so mypy would pick the stubs' sync overloads.
        self._roster = cast(
            "roster_service_pb2_grpc.RosterServiceAsyncStub",
            roster_service_pb2_grpc.RosterServiceStub(self._roster_channel),
        )
        self._sharing = cast(
            "sharing_service_pb2_grpc.SharingServiceAsyncStub",
            sharing_service_pb2_grpc.SharingServiceStub(self._sharing_channel),
        )

    async def purge_roster(self, account_id: str) -> RosterPurged:
        response = await self._roster.PurgeUser(
            roster_service_pb2.PurgeUserRequest(user_id=account_id),
            timeout=CALL_TIMEOUT_SECONDS,
        )
        return RosterPurged(response.classes_deleted, response.students_deleted)

    async def purge_sharing(self, account_id: str, email: str) -> None:
        await self._sharing.PurgeUser(
            sharing_service_pb2.PurgeUserRequest(user_id=account_id, email=email),
            timeout=CALL_TIMEOUT_SECONDS,
        )

    async def aclose(self) -> None:
        await self._roster_channel.close()
        await self._sharing_channel.close()


def error_name(error: grpc.aio.AioRpcError) -> str:
    """A short, address-free description of a failed call."""
    return f"{error.code().name}"
