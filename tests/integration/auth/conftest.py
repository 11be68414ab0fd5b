"""A running auth service over mTLS against a fresh database, and error parsing for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import _async as rpc_status_async

from services.auth.service import DEFINITION as AUTH
from services.common.devcerts import DevPki
from tests.support.postgres import TestDatabase
from tests.support.services import (
    JwtKeys,
    StartedService,
    client_channel,
    make_jwt_keys,
    service_env,
    started_service,
)
from trackcc.auth.v1 import auth_service_pb2_grpc


@dataclass(frozen=True)
class RunningAuth:
    """The service, a client stub presenting the gateway's certificate, and its database."""

    service: StartedService
    stub: auth_service_pb2_grpc.AuthServiceAsyncStub
    database: TestDatabase
    keys: JwtKeys


@pytest.fixture
async def auth(database: TestDatabase, pki: DevPki, tmp_path: Path) -> AsyncIterator[RunningAuth]:
    keys = make_jwt_keys(tmp_path)
    env = service_env(AUTH, database, pki, keys)
    async with started_service(AUTH, env) as service, client_channel(service, pki) as channel:
        # grpc has no type information, so mypy would pick the stub's sync overload.
        stub = cast(
            "auth_service_pb2_grpc.AuthServiceAsyncStub",
            auth_service_pb2_grpc.AuthServiceStub(channel),
        )
        yield RunningAuth(service=service, stub=stub, database=database, keys=keys)


@dataclass(frozen=True)
class RpcFailure:
    """What a client learns from a failed call."""

    code: grpc.StatusCode
    message: str
    reason: str
    metadata: dict[str, str]
    field_violations: list[tuple[str, str]]


async def failure_of(call: Any) -> RpcFailure:
    """Awaits a call that must fail and parses its google.rpc.Status details."""
    with pytest.raises(grpc.aio.AioRpcError):
        await call
    code = await call.code()
    status = await rpc_status_async.from_call(call)
    if status is None:
        return RpcFailure(code, await call.details(), "", {}, [])
    info = error_details_pb2.ErrorInfo()
    bad_request = error_details_pb2.BadRequest()
    for detail in status.details:
        if detail.Is(info.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(bad_request.DESCRIPTOR):
            detail.Unpack(bad_request)
    return RpcFailure(
        code=code,
        message=status.message,
        reason=info.reason,
        metadata=dict(info.metadata),
        field_violations=[(v.field, v.description) for v in bad_request.field_violations],
    )
