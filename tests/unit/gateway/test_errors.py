"""The one table from gRPC status to HTTP, reason overrides, and what detail passes through."""

from __future__ import annotations

import grpc
import pytest

from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    ServiceError,
    Unauthenticated,
)
from services.gateway.errors import (
    STATUS_DETAILS_KEY,
    RichStatus,
    problem_body,
    problem_from_rpc_error,
    problem_from_status,
)


def _rpc_error(error: ServiceError) -> grpc.aio.AioRpcError:
    status = error.to_status()
    trailers = grpc.aio.Metadata((STATUS_DETAILS_KEY, status.SerializeToString()))
    return grpc.aio.AioRpcError(error.grpc_code, grpc.aio.Metadata(), trailers, error.message)


@pytest.mark.parametrize(
    ("code", "status", "problem_code"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 422, "validation_failed"),
        (grpc.StatusCode.NOT_FOUND, 404, "not_found"),
        (grpc.StatusCode.ALREADY_EXISTS, 409, "already_exists"),
        (grpc.StatusCode.PERMISSION_DENIED, 403, "forbidden"),
        (grpc.StatusCode.UNAUTHENTICATED, 401, "unauthenticated"),
        (grpc.StatusCode.FAILED_PRECONDITION, 412, "failed_precondition"),
        (grpc.StatusCode.ABORTED, 409, "conflict"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "rate_limited"),
        (grpc.StatusCode.UNIMPLEMENTED, 501, "not_implemented"),
        (grpc.StatusCode.UNAVAILABLE, 503, "unavailable"),
        (grpc.StatusCode.CANCELLED, 503, "unavailable"),  # a call that raced a shutdown
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504, "timeout"),
        (grpc.StatusCode.INTERNAL, 500, "internal"),
        (grpc.StatusCode.UNKNOWN, 500, "internal"),
        (grpc.StatusCode.DATA_LOSS, 500, "internal"),
    ],
)
def test_status_table_without_details(
    code: grpc.StatusCode, status: int, problem_code: str
) -> None:
    problem = problem_from_status(RichStatus(code, "service text"))
    assert (problem.status, problem.code) == (status, problem_code)


@pytest.mark.parametrize(
    ("code", "reason", "status"),
    [
        (grpc.StatusCode.FAILED_PRECONDITION, "account_locked", 423),
        (grpc.StatusCode.FAILED_PRECONDITION, "invitation_expired", 410),
        (grpc.StatusCode.FAILED_PRECONDITION, "invitation_revoked", 410),
        (grpc.StatusCode.FAILED_PRECONDITION, "invitation_used", 410),
        (grpc.StatusCode.PERMISSION_DENIED, "email_mismatch", 403),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "rate_limited", 429),
        (grpc.StatusCode.INVALID_ARGUMENT, "weak_password", 422),
        (grpc.StatusCode.ALREADY_EXISTS, "email_taken", 409),
        (grpc.StatusCode.UNAUTHENTICATED, "invalid_credentials", 401),
        (grpc.StatusCode.UNAUTHENTICATED, "invalid_token", 401),
    ],
)
def test_reason_becomes_the_code_and_may_set_the_status(
    code: grpc.StatusCode, reason: str, status: int
) -> None:
    problem = problem_from_status(RichStatus(code, "why", reason=reason))
    assert (problem.status, problem.code) == (status, reason)
    assert problem.detail == "why"


def test_route_override_pins_invalid_token_to_400() -> None:
    status = RichStatus(grpc.StatusCode.INVALID_ARGUMENT, "expired", reason="invalid_token")
    assert problem_from_status(status, {"invalid_token": 400}).status == 400
    assert problem_from_status(status).status == 422


def test_weak_password_carries_score_and_field_violations() -> None:
    error = InvalidArgument(
        "too guessable",
        reason="weak_password",
        field_violations=[("password", "is too guessable")],
        metadata={"score": "1"},
    )
    problem = problem_from_rpc_error(_rpc_error(error))
    body = problem_body(problem)
    assert body["status"] == 422
    assert body["code"] == "weak_password"
    assert body["score"] == 1
    assert body["detail"] == "too guessable"
    assert body["errors"] == [{"field": "password", "message": "is too guessable"}]


def test_details_are_read_from_the_status_trailer() -> None:
    problem = problem_from_rpc_error(_rpc_error(AlreadyExists("taken", reason="email_taken")))
    assert (problem.status, problem.code, problem.detail) == (409, "email_taken", "taken")


def test_unknown_reason_keeps_the_code_but_not_the_service_text() -> None:
    error = FailedPrecondition("row 42 in table x is stale", reason="something_new")
    problem = problem_from_rpc_error(_rpc_error(error))
    assert (problem.status, problem.code) == (412, "something_new")
    assert problem.detail is None
    assert "row 42" not in problem_body(problem)["detail"]


def test_server_errors_never_carry_service_text_or_reason() -> None:
    error = ServiceError("Traceback: secret", reason="db_exploded")
    problem = problem_from_rpc_error(_rpc_error(error))
    body = problem_body(problem)
    assert (body["status"], body["code"]) == (500, "internal")
    assert "secret" not in body["detail"]


def test_unauthenticated_adds_www_authenticate_and_429_adds_retry_after() -> None:
    unauth = problem_from_rpc_error(_rpc_error(Unauthenticated("no", reason="invalid_token")))
    assert unauth.headers["WWW-Authenticate"] == "Bearer"
    limited = problem_from_status(
        RichStatus(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "slow down",
            reason="rate_limited",
            metadata={"retry_after_seconds": "17"},
        )
    )
    assert limited.headers["Retry-After"] == "17"


def test_corrupt_trailer_is_treated_as_no_details() -> None:
    trailers = grpc.aio.Metadata((STATUS_DETAILS_KEY, b"\xff\x00garbage"))
    error = grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), trailers, "gone")
    problem = problem_from_rpc_error(error)
    assert (problem.status, problem.code) == (404, "not_found")


@pytest.mark.parametrize(
    ("code", "reason", "status"),
    [
        # A photo over 5 MiB is the client's body (413), not a quota (429).
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "photo_too_large", 413),
        (grpc.StatusCode.INVALID_ARGUMENT, "unsupported_media_type", 415),
        (grpc.StatusCode.INVALID_ARGUMENT, "invalid_image", 422),
        (grpc.StatusCode.INVALID_ARGUMENT, "idempotency_key_reused", 422),
        (grpc.StatusCode.INVALID_ARGUMENT, "invalid_page_token", 400),
        (grpc.StatusCode.ABORTED, "request_in_progress", 409),
        (grpc.StatusCode.PERMISSION_DENIED, "different_owner", 403),
    ],
)
def test_roster_reasons_have_their_contract_status_and_detail(
    code: grpc.StatusCode, reason: str, status: int
) -> None:
    problem = problem_from_status(RichStatus(code, "what roster said", reason=reason))
    assert (problem.status, problem.code, problem.detail) == (status, reason, "what roster said")
    assert "Retry-After" not in problem.headers


def test_field_names_rename_proto_fields_to_api_names() -> None:
    error = InvalidArgument(
        "reused",
        reason="idempotency_key_reused",
        field_violations=[("request_id", "used with a different request"), ("name", "empty")],
    )
    problem = problem_from_rpc_error(
        _rpc_error(error), field_names={"request_id": "Idempotency-Key"}
    )
    assert [(e.field, e.message) for e in problem.errors] == [
        ("Idempotency-Key", "used with a different request"),
        ("name", "empty"),
    ]


def test_sharing_unavailable_behind_roster_is_a_generic_503() -> None:
    status = RichStatus(grpc.StatusCode.UNAVAILABLE, "sharing down", reason="sharing_unavailable")
    problem = problem_from_status(status)
    assert (problem.status, problem.code, problem.detail) == (503, "unavailable", None)
