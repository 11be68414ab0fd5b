"""Problem details (RFC 9457) and the one table from gRPC status to HTTP.

Every error the gateway answers is a :class:`ProblemError` turned into
``application/problem+json`` by the error middleware. Services report failures as canonical
gRPC codes with a ``google.rpc.Status`` whose ``ErrorInfo.reason`` is the stable API code;
:func:`problem_from_rpc_error` is the only place that maps those to HTTP, with the status and
default detail of each reason from its one registry, ``services/common/reasons.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import grpc
from aiohttp import web
from google.rpc import error_details_pb2, status_pb2

from services.common import reasons
from services.common.photo_limits import MAX_PHOTO_BYTES, MIB
from services.common.reasons import REGISTRY
from services.gateway.json_encoding import json_bytes

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "tag:trackcc,2026:problem:"
STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldError:
    """One invalid field of a request."""

    field: str
    message: str


@dataclass
class ProblemError(Exception):
    """An error answered as problem+json with a stable ``code``."""

    status: int
    code: str
    detail: str | None = None
    errors: Sequence[FieldError] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}")


def problem_body(problem: ProblemError) -> dict[str, Any]:
    """The JSON object of a problem."""
    title = HTTPStatus(problem.status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + problem.code,
        "title": title,
        "status": problem.status,
        "detail": problem.detail or DEFAULT_DETAILS.get(problem.code, title),
        "code": problem.code,
    }
    if problem.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in problem.errors]
    body.update(problem.extensions)
    return body


def problem_response(problem: ProblemError) -> web.Response:
    """The HTTP response of a problem."""
    return web.Response(
        status=problem.status,
        body=json_bytes(problem_body(problem)),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=problem.headers,
    )


# Generic texts, so that a client always gets a readable detail without the gateway ever
# echoing what a service said about an internal failure (services/common/reasons.py).
DEFAULT_DETAILS: Mapping[str, str] = {
    reason.code: reason.detail for reason in REGISTRY.values() if reason.detail is not None
} | {reasons.PHOTO_TOO_LARGE: f"A photo may be at most {MAX_PHOTO_BYTES // MIB} MiB."}


@dataclass(frozen=True)
class StatusRule:
    """How one gRPC code answers over HTTP when the reason does not say otherwise."""

    http_status: int
    default_code: str
    client_error: bool


# THE table: gRPC status -> HTTP status and default problem code.
GRPC_STATUS_TABLE: Mapping[grpc.StatusCode, StatusRule] = {
    grpc.StatusCode.INVALID_ARGUMENT: StatusRule(422, reasons.VALIDATION_FAILED, True),
    grpc.StatusCode.OUT_OF_RANGE: StatusRule(422, reasons.VALIDATION_FAILED, True),
    grpc.StatusCode.NOT_FOUND: StatusRule(404, reasons.NOT_FOUND, True),
    grpc.StatusCode.ALREADY_EXISTS: StatusRule(409, reasons.ALREADY_EXISTS, True),
    grpc.StatusCode.PERMISSION_DENIED: StatusRule(403, reasons.FORBIDDEN, True),
    grpc.StatusCode.UNAUTHENTICATED: StatusRule(401, reasons.UNAUTHENTICATED, True),
    grpc.StatusCode.FAILED_PRECONDITION: StatusRule(412, reasons.FAILED_PRECONDITION, True),
    grpc.StatusCode.ABORTED: StatusRule(409, reasons.CONFLICT, True),
    grpc.StatusCode.RESOURCE_EXHAUSTED: StatusRule(429, reasons.RATE_LIMITED, True),
    grpc.StatusCode.UNIMPLEMENTED: StatusRule(501, reasons.NOT_IMPLEMENTED, False),
    grpc.StatusCode.UNAVAILABLE: StatusRule(503, reasons.UNAVAILABLE, False),
    # The gateway never sees its own cancellations as a status (its handler is gone then): a
    # CANCELLED answer is the service's, given to a call that raced its shutdown. Retry it.
    grpc.StatusCode.CANCELLED: StatusRule(503, reasons.UNAVAILABLE, False),
    grpc.StatusCode.DEADLINE_EXCEEDED: StatusRule(504, reasons.TIMEOUT, False),
}
FALLBACK_RULE = StatusRule(500, reasons.INTERNAL, False)

# Reasons whose HTTP status is part of the contract whatever gRPC code carried them.
REASON_STATUS: Mapping[str, int] = {
    reason.code: reason.http_status
    for reason in REGISTRY.values()
    if reason.http_status is not None
}

# Reasons that tell the client something about its own request, so a service's detail
# text is passed on; any other reason gets the gateway's generic detail.
KNOWN_CLIENT_REASONS = frozenset(
    reason.code for reason in REGISTRY.values() if reason.passes_detail
)

# ErrorInfo.metadata keys copied into the problem as numbers.
_NUMERIC_METADATA = ("score",)


@dataclass(frozen=True)
class RichStatus:
    """What a failed call reported: code, message, reason, metadata and field violations."""

    code: grpc.StatusCode
    message: str
    reason: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    violations: Sequence[FieldError] = ()


def rich_status(error: grpc.aio.AioRpcError) -> RichStatus:
    """Reads the ``google.rpc.Status`` details from the call's trailers, if any."""
    code: grpc.StatusCode = error.code()
    message = str(error.details() or "")
    raw: bytes | None = None
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            raw = value
    if raw is None:
        return RichStatus(code, message)
    status = status_pb2.Status()
    try:
        status.ParseFromString(raw)
    except Exception:  # noqa: BLE001 - a corrupt trailer is treated as no details
        return RichStatus(code, message)
    reason: str | None = None
    metadata: dict[str, str] = {}
    violations: list[FieldError] = []
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        bad_request = error_details_pb2.BadRequest()
        if detail.Is(info.DESCRIPTOR) and detail.Unpack(info):
            reason = info.reason or None
            metadata.update(info.metadata)
        elif detail.Is(bad_request.DESCRIPTOR) and detail.Unpack(bad_request):
            violations.extend(
                FieldError(v.field, v.description) for v in bad_request.field_violations
            )
    return RichStatus(code, status.message or message, reason, metadata, violations)


def problem_from_status(
    status: RichStatus,
    reason_overrides: Mapping[str, int] | None = None,
    field_names: Mapping[str, str] | None = None,
) -> ProblemError:
    """The problem a client gets for a failed gRPC call.

    ``reason_overrides`` lets a route pin a reason to a status (``invalid_token`` is ``400``
    where the token came in the body, ``401`` for a refresh token). ``field_names`` renames
    proto fields that reach the API under another name (``request_id`` is the
    ``Idempotency-Key`` header).
    """
    rule = GRPC_STATUS_TABLE.get(status.code, FALLBACK_RULE)
    if not rule.client_error:
        # A server-side failure never takes its code or text from the service.
        return ProblemError(rule.http_status, rule.default_code)
    code = status.reason or rule.default_code
    http_status = (reason_overrides or {}).get(code) or REASON_STATUS.get(code) or rule.http_status
    detail = status.message if code in KNOWN_CLIENT_REASONS and status.message else None
    extensions: dict[str, Any] = {}
    for key in _NUMERIC_METADATA:
        value = status.metadata.get(key)
        if value is not None:
            extensions[key] = _number(value)
    headers: dict[str, str] = {}
    if http_status == 429:
        retry_after = status.metadata.get("retry_after_seconds", "")
        headers["Retry-After"] = retry_after if retry_after.isdigit() else "60"
    if http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    renames = field_names or {}
    violations = [FieldError(renames.get(v.field, v.field), v.message) for v in status.violations]
    return ProblemError(
        http_status, code, detail, violations, headers=headers, extensions=extensions
    )


def problem_from_rpc_error(
    error: grpc.aio.AioRpcError,
    reason_overrides: Mapping[str, int] | None = None,
    field_names: Mapping[str, str] | None = None,
) -> ProblemError:
    """:func:`problem_from_status` of a failed call."""
    return problem_from_status(rich_status(error), reason_overrides, field_names)


def _number(value: str) -> int | float | str:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value
