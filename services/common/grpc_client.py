"""Client-side interceptors: every outgoing call carries the request id being served, and
ends before the deadline of the call being served (``deadlines.py``)."""

from __future__ import annotations

from typing import Any

import grpc

from services.common.deadlines import within_serving_deadline
from services.common.logs import REQUEST_ID_METADATA, request_id_var


def with_request_id(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    """The call's details with ``x-request-id`` added, unless there is none or it is set."""
    request_id = request_id_var.get()
    if not request_id:
        return details
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    if REQUEST_ID_METADATA not in metadata:
        metadata.add(REQUEST_ID_METADATA, request_id)
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


class RequestIdUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Adds ``x-request-id`` to unary calls."""

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(
            within_serving_deadline(with_request_id(client_call_details)), request
        )


class RequestIdUnaryStream(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """Adds ``x-request-id`` to server-streaming calls."""

    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(
            within_serving_deadline(with_request_id(client_call_details)), request
        )


class RequestIdStreamUnary(grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    """Adds ``x-request-id`` to client-streaming calls."""

    async def intercept_stream_unary(
        self,
        continuation: Any,
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        return await continuation(
            within_serving_deadline(with_request_id(client_call_details)), request_iterator
        )


def request_id_interceptors() -> list[Any]:
    """The interceptors every channel gets."""
    return [RequestIdUnaryUnary(), RequestIdUnaryStream(), RequestIdStreamUnary()]
