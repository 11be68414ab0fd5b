"""What a test reads from a failed gRPC call: the ``google.rpc.Status`` a service attached.

Services report failures as canonical codes with an ``ErrorInfo`` whose ``reason`` is the
stable API code (``services/common/errors.py``); these helpers read it back the way a client
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import _async as rpc_status_async
from grpc_status import rpc_status


def reason(error: grpc.aio.AioRpcError) -> str:
    """The ErrorInfo reason of a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    return str(info.reason)


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
