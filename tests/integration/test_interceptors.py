"""Errors raised by servicers reach clients as stable codes; shutdown lets calls finish."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import grpc
import pytest
from prometheus_client import CollectorRegistry

from services.common.config import Env
from services.common.devcerts import DevPki
from services.common.errors import NotFound
from services.common.logs import request_id_var
from services.common.service_main import running_service
from services.roster.service import DEFINITION as ROSTER
from tests.support.postgres import TestDatabase
from tests.support.rpc_errors import reason
from tests.support.services import StartedService, client_channel, make_jwt_keys, service_env
from trackcc.roster.v1 import roster_service_pb2 as pb
from trackcc.roster.v1 import roster_service_pb2_grpc as pb_grpc


class _Faulty(pb_grpc.RosterServiceServicer):
    """Only the methods under test; the rest stay abstract (UNIMPLEMENTED)."""

    def __init__(self, release: asyncio.Event) -> None:
        self.release = release
        self.started = asyncio.Event()

    async def GetClass(  # noqa: N802 - gRPC method name
        self, request: pb.GetClassRequest, context: grpc.aio.ServicerContext
    ) -> pb.Class:
        raise NotFound("no such class", reason="class_not_found")

    async def ListClasses(  # noqa: N802
        self, request: pb.ListClassesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClassesResponse:
        raise RuntimeError("secret internal detail")

    async def UpdateClass(  # noqa: N802
        self, request: pb.UpdateClassRequest, context: grpc.aio.ServicerContext
    ) -> pb.Class:
        self.started.set()
        await self.release.wait()
        return request.school_class

    async def GetStudent(  # noqa: N802
        self, request: pb.GetStudentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Student:
        return pb.Student(id=request.student_id, display_name=request_id_var.get())

    async def DownloadPhoto(  # noqa: N802
        self, request: pb.DownloadPhotoRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.DownloadPhotoResponse]:
        yield pb.DownloadPhotoResponse(chunk=b"abc")
        raise NotFound("photo vanished", reason="photo_not_found")


class _Parts:
    def __init__(self, servicer: _Faulty) -> None:
        self.servicer = servicer

    def register(self, server: grpc.aio.Server) -> None:
        pb_grpc.add_RosterServiceServicer_to_server(self.servicer, server)

    async def aclose(self) -> None:
        return None


def _definition(servicer: _Faulty) -> object:
    async def build(env: Env, pool: asyncpg.Pool, registry: CollectorRegistry) -> _Parts:
        return _Parts(servicer)

    return dataclasses.replace(ROSTER, build=build)


@pytest.fixture
def env(database: TestDatabase, pki: DevPki, tmp_path: Path) -> Env:
    return service_env(ROSTER, database, pki, make_jwt_keys(tmp_path))


async def test_domain_error_keeps_its_reason_and_unknown_error_hides_details(
    env: Env, pki: DevPki
) -> None:
    servicer = _Faulty(asyncio.Event())  # type: ignore[abstract]
    async with running_service(_definition(servicer), env) as (port, metrics):  # type: ignore[arg-type]
        async with client_channel(StartedService("roster", port, metrics), pki) as channel:
            stub = pb_grpc.RosterServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as not_found:
                await stub.GetClass(pb.GetClassRequest(class_id="c"))
            assert not_found.value.code() == grpc.StatusCode.NOT_FOUND
            assert reason(not_found.value) == "class_not_found"

            with pytest.raises(grpc.aio.AioRpcError) as internal:
                await stub.ListClasses(pb.ListClassesRequest())
            assert internal.value.code() == grpc.StatusCode.INTERNAL
            assert "secret" not in (internal.value.details() or "")

            chunks = []
            with pytest.raises(grpc.aio.AioRpcError) as streamed:
                async for part in stub.DownloadPhoto(pb.DownloadPhotoRequest()):
                    chunks.append(part.chunk)
            assert chunks == [b"abc"]
            assert streamed.value.code() == grpc.StatusCode.NOT_FOUND


async def test_shutdown_lets_an_in_flight_call_finish(env: Env, pki: DevPki) -> None:
    release = asyncio.Event()
    servicer = _Faulty(release)  # type: ignore[abstract]
    service_cm = running_service(_definition(servicer), env)  # type: ignore[arg-type]
    port, metrics = await service_cm.__aenter__()
    async with client_channel(StartedService("roster", port, metrics), pki) as channel:
        stub = pb_grpc.RosterServiceStub(channel)
        call = asyncio.ensure_future(
            stub.UpdateClass(pb.UpdateClassRequest(school_class=pb.Class(id="c1")))
        )
        await servicer.started.wait()
        stopping = asyncio.ensure_future(service_cm.__aexit__(None, None, None))
        await asyncio.sleep(0)  # let stop() begin before the handler is released
        release.set()
        reply = await call
        await stopping
    assert reply.id == "c1"


async def test_request_id_travels_from_client_context_to_server_logs(env: Env, pki: DevPki) -> None:
    servicer = _Faulty(asyncio.Event())  # type: ignore[abstract]
    async with running_service(_definition(servicer), env) as (port, metrics):  # type: ignore[arg-type]
        async with client_channel(StartedService("roster", port, metrics), pki) as channel:
            stub = pb_grpc.RosterServiceStub(channel)
            token = request_id_var.set("req-from-gateway-42")
            try:
                call = stub.GetStudent(pb.GetStudentRequest(student_id="s"))
                # Set where the call is made: grpc's own call, not the costlier
                # InterceptedUnaryUnaryCall that any client interceptor brings.
                assert "Intercepted" not in type(call).__name__
                student = await call
            finally:
                request_id_var.reset(token)
            assert student.display_name == "req-from-gateway-42"
            fresh = await stub.GetStudent(pb.GetStudentRequest(student_id="s"))
            assert fresh.display_name and fresh.display_name != "req-from-gateway-42"
