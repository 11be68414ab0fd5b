"""Domain errors carry their stable reason and field violations in the rich status."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2

from services.common.errors import AlreadyExists, InvalidArgument


def test_reason_and_metadata_travel_in_error_info() -> None:
    status = AlreadyExists("email taken", reason="email_taken").to_status()
    assert status.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "email_taken"


def test_field_violations_travel_in_bad_request() -> None:
    error = InvalidArgument(
        "bad input",
        reason="weak_password",
        field_violations=[("password", "too short")],
        metadata={"score": "1"},
    )
    status = error.to_status()
    info = error_details_pb2.ErrorInfo()
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info) and status.details[1].Unpack(bad)
    assert info.metadata["score"] == "1"
    assert [(v.field, v.description) for v in bad.field_violations] == [("password", "too short")]
