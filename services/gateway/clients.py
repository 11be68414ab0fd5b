"""Long-lived mTLS channels to auth, roster and sharing, and their typed stubs.

One channel per service for the life of the process (new TLS handshakes are expensive; an
HTTP/2 channel multiplexes every call). The channels are the service kit's
(:func:`services.common.tls.secure_channel`), which forward the request id of the HTTP
request on every call, unary and streaming, and give unary calls the configured deadline
(streams set their own, ``routes/photos.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias, cast

import grpc
from grpc_health.v1 import health_pb2_grpc

from services.common.tls import GrpcTarget, secure_channel
from services.gateway.config import GatewaySettings
from trackcc.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from trackcc.roster.v1 import roster_service_pb2, roster_service_pb2_grpc
from trackcc.sharing.v1 import sharing_service_pb2, sharing_service_pb2_grpc

if TYPE_CHECKING:
    AuthStub: TypeAlias = auth_service_pb2_grpc.AuthServiceAsyncStub
    RosterStub: TypeAlias = roster_service_pb2_grpc.RosterServiceAsyncStub
    SharingStub: TypeAlias = sharing_service_pb2_grpc.SharingServiceAsyncStub
else:  # the async stub classes exist only in the .pyi
    AuthStub = RosterStub = SharingStub = object

AUTH_SERVICE = auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
ROSTER_SERVICE = roster_service_pb2.DESCRIPTOR.services_by_name["RosterService"].full_name
SHARING_SERVICE = sharing_service_pb2.DESCRIPTOR.services_by_name["SharingService"].full_name


@dataclass(frozen=True)
class Backend:
    """One service: its channel, its full gRPC name (health checks) and its health stub."""

    name: str
    service_name: str
    channel: grpc.aio.Channel
    health: health_pb2_grpc.HealthStub


@dataclass(frozen=True)
class ServiceClients:
    """The stubs the routes call."""

    auth: AuthStub
    roster: RosterStub
    sharing: SharingStub
    backends: tuple[Backend, ...]


def _channel(target: GrpcTarget, settings: GatewaySettings) -> grpc.aio.Channel:
    return secure_channel(target, settings.tls, unary_timeout=settings.grpc_timeout_seconds)


@contextlib.asynccontextmanager
async def open_clients(settings: GatewaySettings) -> AsyncIterator[ServiceClients]:
    """Opens the three channels; closes them when the block exits."""
    auth = _channel(settings.auth_target, settings)
    roster = _channel(settings.roster_target, settings)
    sharing = _channel(settings.sharing_target, settings)
    try:
        yield ServiceClients(
            # The generated stubs are async when built on an aio channel; the .pyi says so
            # only through an overload that mypy cannot pick for an untyped channel.
            auth=cast(AuthStub, auth_service_pb2_grpc.AuthServiceStub(auth)),
            roster=cast(RosterStub, roster_service_pb2_grpc.RosterServiceStub(roster)),
            sharing=cast(SharingStub, sharing_service_pb2_grpc.SharingServiceStub(sharing)),
            backends=(
                Backend("auth", AUTH_SERVICE, auth, health_pb2_grpc.HealthStub(auth)),
                Backend("roster", ROSTER_SERVICE, roster, health_pb2_grpc.HealthStub(roster)),
                Backend("sharing", SHARING_SERVICE, sharing, health_pb2_grpc.HealthStub(sharing)),
            ),
        )
    finally:
        for channel in (auth, roster, sharing):
            await channel.close()


ClientsFactory = Callable[[GatewaySettings], contextlib.AbstractAsyncContextManager[ServiceClients]]
