"""Sharing messages as docs/api.md's JSON, and the future-time check of ``grant_expires_at``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.gateway.errors import ProblemError
from services.gateway.routes.sharing_json import (
    ACCESS_LOG_ENTRY_SCHEMA,
    INVITATION_SCHEMA,
    access_log_entry_json,
    future_timestamp,
    grant_json,
    invitation_json,
)
from services.gateway.validation import validate
from trackcc.sharing.v1 import sharing_service_pb2 as pb

ID = "6f1c1f49-5f2e-4a55-9a3e-2b1e7d3c9a10"
NOW = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def _ts(text: str) -> Timestamp:
    value = Timestamp()
    value.FromJsonString(text)
    return value


def test_invitation_json_matches_its_schema_and_names_enums() -> None:
    message = pb.Invitation(
        id=ID,
        resource=pb.Resource(type=pb.RESOURCE_TYPE_STUDENT, id=ID),
        email="g@example.org",
        relation=pb.RELATION_EDITOR,
        role=pb.GRANTEE_ROLE_ADVISOR,
        status=pb.INVITATION_STATUS_DECLINED,
        create_time=_ts("2026-11-28T16:00:00Z"),
        expire_time=_ts("2026-12-12T16:00:00Z"),
    )
    body = invitation_json(message)
    validate(body, INVITATION_SCHEMA)
    assert body["resource_type"] == "student"
    assert (body["relation"], body["role"], body["status"]) == ("editor", "advisor", "declined")
    assert body["expires_at"] == "2026-12-12T16:00:00Z"
    assert body["grant_expires_at"] is None


def test_grant_without_an_end_has_null_expires_at() -> None:
    body = grant_json(pb.Grant(id=ID, relation=pb.RELATION_VIEWER, role=pb.GRANTEE_ROLE_STUDENT))
    assert (body["relation"], body["role"], body["expires_at"]) == ("viewer", "student", None)


def test_access_log_entry_without_a_grant_has_null_grant_id() -> None:
    entry = pb.AccessLogEntry(
        time=_ts("2026-11-28T16:00:00Z"),
        actor_id=ID,
        actor_email="o@example.org",
        action=pb.ACCESS_ACTION_VIEWED,
    )
    body = access_log_entry_json(entry)
    validate(body, ACCESS_LOG_ENTRY_SCHEMA)
    assert body == {
        "at": "2026-11-28T16:00:00Z",
        "actor_id": ID,
        "actor_email": "o@example.org",
        "action": "viewed",
        "grant_id": None,
    }


def test_future_timestamp_accepts_offsets_and_converts_to_utc() -> None:
    value = future_timestamp("2026-12-01T12:00:00+02:00", "grant_expires_at", now=NOW)
    assert value.ToJsonString() == "2026-12-01T10:00:00Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-28T16:00:00Z", "must be in the future"),
        ("2020-01-01T00:00:00Z", "must be in the future"),
        ("2026-12-01T12:00:00", "must be a valid date-time"),
        ("tomorrow", "must be a valid date-time"),
    ],
)
def test_future_timestamp_refuses_the_past_and_missing_offsets(text: str, message: str) -> None:
    with pytest.raises(ProblemError) as raised:
        future_timestamp(text, "grant_expires_at", now=NOW)
    assert raised.value.status == 422
    assert [(e.field, e.message) for e in raised.value.errors] == [("grant_expires_at", message)]
