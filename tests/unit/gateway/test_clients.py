"""Every gRPC call gets the configured deadline and the request id of the HTTP request."""

from __future__ import annotations

from typing import Any

import grpc

from services.common.logs import request_id_var
from services.gateway.clients import _DeadlineAndRequestId


async def _intercept(deadline: float | None, metadata: Any) -> Any:
    seen: list[Any] = []

    async def continuation(details: Any, request: Any) -> str:
        seen.append(details)
        return "answer"

    details = grpc.aio.ClientCallDetails(
        method="/trackcc.auth.v1.AuthService/GetAccount",
        timeout=deadline,
        metadata=metadata,
        credentials=None,
        wait_for_ready=None,
    )
    assert await _DeadlineAndRequestId(5.0).intercept_unary_unary(continuation, details, {}) == (
        "answer"
    )
    return seen[0]


async def test_request_id_and_default_deadline_are_added() -> None:
    token = request_id_var.set("req-42")
    try:
        details = await _intercept(None, (("authorization", "Bearer t"),))
    finally:
        request_id_var.reset(token)
    assert details.timeout == 5.0
    assert details.metadata["x-request-id"] == "req-42"
    assert details.metadata["authorization"] == "Bearer t"


async def test_a_longer_deadline_is_capped() -> None:
    assert (await _intercept(60.0, None)).timeout == 5.0
    assert (await _intercept(1.0, None)).timeout == 1.0
