"""Domain errors and their one translation to gRPC status.

Servicers raise :class:`ServiceError` subclasses; :class:`~services.common.interceptors.
CallInterceptor` turns them into a canonical gRPC code with a ``google.rpc.Status`` whose
``ErrorInfo.reason`` is the stable API code (``email_taken``, ``account_locked`` ...) and whose
``BadRequest`` lists field violations. The gateway maps that back to problem+json, with the
HTTP status and default detail that ``reasons.py`` registers for each reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from services.common import reasons

ERROR_DOMAIN = "trackcc.app"


class ServiceError(Exception):
    """An expected failure with a stable reason code."""

    grpc_code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    default_reason = reasons.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        field_violations: Sequence[tuple[str, str]] = (),
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.field_violations = tuple(field_violations)
        self.metadata = dict(metadata or {})

    def to_status(self) -> status_pb2.Status:
        """The rich status sent in the ``grpc-status-details-bin`` trailer."""
        details: list[any_pb2.Any] = []
        info = error_details_pb2.ErrorInfo(
            reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
        )
        packed = any_pb2.Any()
        packed.Pack(info)
        details.append(packed)
        if self.field_violations:
            bad_request = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                    for f, d in self.field_violations
                ]
            )
            packed = any_pb2.Any()
            packed.Pack(bad_request)
            details.append(packed)
        code: int = self.grpc_code.value[0]
        return status_pb2.Status(code=code, message=self.message, details=details)


class InvalidArgument(ServiceError):
    """The request is malformed or fails validation (HTTP 422 unless the reason says else)."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = reasons.VALIDATION_FAILED


class NotFound(ServiceError):
    """The resource does not exist or the caller may not see it."""

    grpc_code = grpc.StatusCode.NOT_FOUND
    default_reason = reasons.NOT_FOUND


class AlreadyExists(ServiceError):
    """A unique thing exists already."""

    grpc_code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = reasons.ALREADY_EXISTS


class PermissionDenied(ServiceError):
    """The caller may see the resource but not do this."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = reasons.FORBIDDEN


class Unauthenticated(ServiceError):
    """No valid credentials."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = reasons.UNAUTHENTICATED


class FailedPrecondition(ServiceError):
    """The system is not in a state that allows this (a locked account, a used token)."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = reasons.FAILED_PRECONDITION


class Aborted(ServiceError):
    """A concurrent request holds the same thing (an idempotent replay still running)."""

    grpc_code = grpc.StatusCode.ABORTED
    default_reason = reasons.CONFLICT


class ResourceExhausted(ServiceError):
    """A limit was reached."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = reasons.RATE_LIMITED


class Unimplemented(ServiceError):
    """The method exists in the API but its issue has not landed yet."""

    grpc_code = grpc.StatusCode.UNIMPLEMENTED
    default_reason = reasons.NOT_IMPLEMENTED
