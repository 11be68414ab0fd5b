"""A small AuthService over real gRPC and mTLS, so gateway tests need not wait for auth.

It knows which sessions are active, answers a few methods from memory, can be told to fail a
method with a rich status (the way the real services report ``account_locked`` and friends),
and records every call's method, metadata and deadline.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import grpc
from google.protobuf import empty_pb2

from services.common.devcerts import DevPki
from services.common.errors import ServiceError
from services.gateway.errors import STATUS_DETAILS_KEY
from tests.support.services import StartedService
from trackcc.auth.v1 import auth_service_pb2 as pb
from trackcc.auth.v1 import auth_service_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class RecordedCall:
    """One call the fake received."""

    method: str
    metadata: dict[str, str]
    request: object
    # Seconds left of the caller's deadline when the call arrived (None: no deadline).
    time_remaining: float | None = None


if TYPE_CHECKING:
    # The .pyi makes every method abstract; the runtime base answers UNIMPLEMENTED for the
    # methods not faked here, which is what the fake wants.
    _Servicer = object
else:
    _Servicer = pb_grpc.AuthServiceServicer


@dataclass
class FakeAuth(_Servicer):
    """State the tests set, and what the gateway asked."""

    active: set[str] = field(default_factory=set)
    # Method name -> the error it answers with; grpc.StatusCode alone for a bare status.
    failures: dict[str, ServiceError | grpc.StatusCode] = field(default_factory=dict)
    calls: list[RecordedCall] = field(default_factory=list)
    # Sessions of each user, for DeleteAllSessions.
    sessions_of: dict[str, set[str]] = field(default_factory=dict)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    async def _enter(self, method: str, request: object, context: grpc.aio.ServicerContext) -> None:
        metadata = {
            key: value
            for key, value in (context.invocation_metadata() or ())
            if isinstance(value, str)
        }
        self.calls.append(RecordedCall(method, metadata, request, context.time_remaining()))
        failure = self.failures.get(method)
        if isinstance(failure, grpc.StatusCode):
            await context.abort(failure, "fake failure")
        if isinstance(failure, ServiceError):
            status = failure.to_status()
            await context.abort(
                failure.grpc_code,
                failure.message,
                trailing_metadata=((STATUS_DETAILS_KEY, status.SerializeToString()),),
            )

    async def BatchGetSessionStates(  # noqa: N802 - gRPC method name
        self, request: pb.BatchGetSessionStatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetSessionStatesResponse:
        await self._enter("BatchGetSessionStates", request, context)
        return pb.BatchGetSessionStatesResponse(
            active_session_ids=[s for s in request.session_ids if s in self.active]
        )

    async def GetAccount(  # noqa: N802
        self, request: pb.GetAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        await self._enter("GetAccount", request, context)
        return pb.Account(
            id="00000000-0000-4000-8000-000000000001",
            email="fake@example.org",
            role=pb.ROLE_TEACHER,
            email_verified=True,
        )

    async def DeleteSession(  # noqa: N802
        self, request: pb.DeleteSessionRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self._enter("DeleteSession", request, context)
        if request.session_id != "current":
            self.active.discard(request.session_id)
        return empty_pb2.Empty()

    async def DeleteAllSessions(  # noqa: N802
        self, request: pb.DeleteAllSessionsRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self._enter("DeleteAllSessions", request, context)
        return empty_pb2.Empty()

    async def CreateSession(  # noqa: N802
        self, request: pb.CreateSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionTokens:
        await self._enter("CreateSession", request, context)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not faked")
        raise AssertionError("abort returns only by raising")

    async def CreateAccount(  # noqa: N802
        self, request: pb.CreateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        await self._enter("CreateAccount", request, context)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not faked")
        raise AssertionError("abort returns only by raising")


@contextlib.asynccontextmanager
async def running_fake_auth(fake: FakeAuth, pki: DevPki) -> AsyncIterator[StartedService]:
    """Serves ``fake`` with auth's certificate on a free port, requiring client certificates."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    pb_grpc.add_AuthServiceServicer_to_server(cast(Any, fake), server)
    port = server.add_secure_port("127.0.0.1:0", pki.leaf("auth").server_credentials())
    await server.start()
    try:
        yield StartedService("auth", port, 0)
    finally:
        await server.stop(None)
