"""JSON shapes of sharing resources (invitations, grants, the access log) and their schemas."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from services.common import reasons
from services.gateway.errors import FieldError, ProblemError
from services.gateway.routes.common import (
    EMAIL_SCHEMA,
    NO_CONTROLS,
    OPTIONAL_TIME_SCHEMA,
    TIME_SCHEMA,
    UUID_SCHEMA,
    json_time,
    object_schema,
    path_uuid,
)
from services.gateway.routes.spec import Call
from services.gateway.validation import Schema
from trackcc.sharing.v1 import sharing_service_pb2 as pb

K = TypeVar("K")

RESOURCE_TYPES = {pb.RESOURCE_TYPE_CLASS: "class", pb.RESOURCE_TYPE_STUDENT: "student"}
RELATIONS = {
    pb.RELATION_OWNER: "owner",
    pb.RELATION_EDITOR: "editor",
    pb.RELATION_VIEWER: "viewer",
}
# Only these two can be given away; ownership never moves by invitation.
INVITABLE_RELATIONS = ("viewer", "editor")
ROLES = {
    pb.GRANTEE_ROLE_GUARDIAN: "guardian",
    pb.GRANTEE_ROLE_ADVISOR: "advisor",
    pb.GRANTEE_ROLE_STUDENT: "student",
    pb.GRANTEE_ROLE_TEACHER: "teacher",
}
STATUSES = {
    pb.INVITATION_STATUS_PENDING: "pending",
    pb.INVITATION_STATUS_ACCEPTED: "accepted",
    pb.INVITATION_STATUS_DECLINED: "declined",
    pb.INVITATION_STATUS_REVOKED: "revoked",
    pb.INVITATION_STATUS_EXPIRED: "expired",
}
ACTIONS = {
    pb.ACCESS_ACTION_INVITED: "invited",
    pb.ACCESS_ACTION_ACCEPTED: "accepted",
    pb.ACCESS_ACTION_DECLINED: "declined",
    pb.ACCESS_ACTION_REVOKED: "revoked",
    pb.ACCESS_ACTION_LEFT: "left",
    pb.ACCESS_ACTION_EXPIRED: "expired",
    pb.ACCESS_ACTION_VIEWED: "viewed",
    pb.ACCESS_ACTION_CHANGED: "changed",
}
DIRECTIONS = {
    "sent": pb.INVITATION_DIRECTION_SENT,
    "received": pb.INVITATION_DIRECTION_RECEIVED,
}


def _inverse(names: Mapping[K, str]) -> dict[str, K]:
    return {name: value for value, name in names.items()}


RESOURCE_TYPES_PB = _inverse(RESOURCE_TYPES)
RELATIONS_PB = _inverse(RELATIONS)
ROLES_PB = _inverse(ROLES)


# The resource kinds that can be shared, by their path segment.
COLLECTIONS = {"classes": "class", "students": "student"}

# A token that came in the body is a bad request, not a failed authentication.
TOKEN_REASONS = {"invalid_token": 400}


def resource_of(call: Call, resource_type: str) -> pb.Resource:
    """The resource a path names (``/v1/classes/{id}/...``), by its kind."""
    return pb.Resource(
        type=RESOURCE_TYPES_PB[resource_type], id=path_uuid(call.request.match_info["id"])
    )


def _name(names: Mapping[Any, str], value: int) -> str:
    # A value added to the proto later is shown as unknown rather than failing the response.
    return names.get(value, "unknown")


def _time(message: Any, field: str) -> str | None:
    value: Timestamp = getattr(message, field)
    return json_time(value, message.HasField(field))


def invitation_json(invitation: pb.Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "resource_type": _name(RESOURCE_TYPES, invitation.resource.type),
        "resource_id": invitation.resource.id,
        "email": invitation.email,
        "relation": _name(RELATIONS, invitation.relation),
        "role": _name(ROLES, invitation.role),
        "status": _name(STATUSES, invitation.status),
        "created_at": _time(invitation, "create_time"),
        "expires_at": _time(invitation, "expire_time"),
        "grant_expires_at": _time(invitation, "grant_expire_time"),
    }


def grant_json(grant: pb.Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "grantee_id": grant.grantee_id,
        "grantee_email": grant.grantee_email,
        "relation": _name(RELATIONS, grant.relation),
        "role": _name(ROLES, grant.role),
        "created_at": _time(grant, "create_time"),
        "expires_at": _time(grant, "expire_time"),
    }


def access_log_entry_json(entry: pb.AccessLogEntry) -> dict[str, Any]:
    return {
        "at": _time(entry, "time"),
        "actor_id": entry.actor_id,
        "actor_email": entry.actor_email,
        "action": _name(ACTIONS, entry.action),
        "grant_id": entry.grant_id or None,
    }


def shared_resource_json(shared: pb.SharedResource) -> dict[str, Any]:
    return {
        "resource_type": _name(RESOURCE_TYPES, shared.resource.type),
        "resource_id": shared.resource.id,
        "relation": _name(RELATIONS, shared.relation),
        "owner_id": shared.owner_id,
        "owner_display_name": shared.owner_display_name,
        "grant_id": shared.grant_id,
    }


def future_timestamp(value: str, field: str, now: datetime | None = None) -> Timestamp:
    """An RFC 3339 time with an offset that lies in the future, as a protobuf Timestamp."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ProblemError(
            422, reasons.VALIDATION_FAILED, errors=[FieldError(field, "must be a valid date-time")]
        )
    if parsed <= (now or datetime.now(UTC)):
        raise ProblemError(
            422, reasons.VALIDATION_FAILED, errors=[FieldError(field, "must be in the future")]
        )
    result = Timestamp()
    result.FromDatetime(parsed.astimezone(UTC))
    return result


# --- schemas ---------------------------------------------------------------------------

# RFC 3339 with a mandatory offset; the gateway also checks that it is in the future.
RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
MAX_MESSAGE_CHARS = 1000

RESOURCE_TYPE_SCHEMA: Schema = {"type": "string", "enum": list(RESOURCE_TYPES_PB)}
RELATION_SCHEMA: Schema = {"type": "string", "enum": list(INVITABLE_RELATIONS)}
ROLE_SCHEMA: Schema = {"type": "string", "enum": list(ROLES_PB)}

CREATE_INVITATION_SCHEMA = object_schema(
    ["email", "relation", "role"],
    {
        "email": EMAIL_SCHEMA,
        "relation": RELATION_SCHEMA,
        "role": ROLE_SCHEMA,
        "message": {"type": "string", "maxLength": MAX_MESSAGE_CHARS, "pattern": NO_CONTROLS},
        "grant_expires_at": {
            "type": "string",
            "format": "date-time",
            "pattern": RFC3339_PATTERN,
            "description": "When the resulting grant ends by itself (RFC 3339, in the future).",
        },
    },
)
INVITATION_TOKEN_SCHEMA = object_schema(
    ["token"],
    {"token": {"type": "string", "minLength": 1, "maxLength": 512, "pattern": NO_CONTROLS}},
)

INVITATION_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "resource_type",
        "resource_id",
        "email",
        "relation",
        "role",
        "status",
        "created_at",
        "expires_at",
        "grant_expires_at",
    ],
    "properties": {
        "id": UUID_SCHEMA,
        "resource_type": RESOURCE_TYPE_SCHEMA,
        "resource_id": UUID_SCHEMA,
        "email": {"type": "string"},
        "relation": RELATION_SCHEMA,
        "role": ROLE_SCHEMA,
        "status": {"type": "string", "enum": list(STATUSES.values())},
        "created_at": TIME_SCHEMA,
        "expires_at": TIME_SCHEMA,
        "grant_expires_at": OPTIONAL_TIME_SCHEMA,
    },
}
GRANT_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "grantee_id",
        "grantee_email",
        "relation",
        "role",
        "created_at",
        "expires_at",
    ],
    "properties": {
        "id": UUID_SCHEMA,
        "grantee_id": UUID_SCHEMA,
        "grantee_email": {"type": "string"},
        "relation": RELATION_SCHEMA,
        "role": ROLE_SCHEMA,
        "created_at": TIME_SCHEMA,
        "expires_at": OPTIONAL_TIME_SCHEMA,
    },
}
ACCESS_LOG_ENTRY_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["at", "actor_id", "actor_email", "action", "grant_id"],
    "properties": {
        "at": TIME_SCHEMA,
        "actor_id": UUID_SCHEMA,
        "actor_email": {"type": "string"},
        "action": {"type": "string", "enum": list(ACTIONS.values())},
        "grant_id": {"type": ["string", "null"], "format": "uuid"},
    },
}
SHARED_RESOURCE_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "resource_type",
        "resource_id",
        "relation",
        "owner_id",
        "owner_display_name",
        "grant_id",
    ],
    "properties": {
        "resource_type": RESOURCE_TYPE_SCHEMA,
        "resource_id": UUID_SCHEMA,
        "relation": RELATION_SCHEMA,
        "owner_id": UUID_SCHEMA,
        "owner_display_name": {"type": "string"},
        "grant_id": UUID_SCHEMA,
    },
}
