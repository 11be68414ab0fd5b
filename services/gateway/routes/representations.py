"""JSON shapes of auth resources (proto -> snake_case JSON) and their schemas."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from services.common.timestamps import rfc3339
from services.gateway.errors import ProblemError
from services.gateway.validation import Schema
from trackcc.auth.v1 import auth_service_pb2

ROLES_AT_SIGNUP = ("teacher", "guardian", "student")
ALL_ROLES = (*ROLES_AT_SIGNUP, "support")

_ROLE_TO_PROTO = {
    "teacher": auth_service_pb2.ROLE_TEACHER,
    "guardian": auth_service_pb2.ROLE_GUARDIAN,
    "student": auth_service_pb2.ROLE_STUDENT,
}
_ROLE_FROM_PROTO = {value: name for name, value in _ROLE_TO_PROTO.items()} | {
    auth_service_pb2.ROLE_SUPPORT: "support"
}


def role_to_proto(role: str) -> auth_service_pb2.Role.ValueType:
    return _ROLE_TO_PROTO[role]


def timestamp(value: Timestamp, present: bool = True) -> str | None:
    """RFC 3339 UTC (``...Z``), or None when the field is unset."""
    if not present:
        return None
    return rfc3339(value)


def path_uuid(value: str) -> str:
    """A path id; anything that is not a UUID names nothing, so it is ``404``."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ProblemError(404, "not_found") from None


def account_json(account: auth_service_pb2.Account, public_url: str) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "role": _ROLE_FROM_PROTO.get(account.role, "unknown"),
        "display_name": account.display_name if account.HasField("display_name") else None,
        "birth_date": account.birth_date if account.HasField("birth_date") else None,
        "gender": account.gender if account.HasField("gender") else None,
        "email_verified": account.email_verified,
        # Built from the configured public URL, never from the request's Host header.
        "photo_url": f"{public_url}/v1/me/photo" if account.has_photo else None,
        "created_at": timestamp(account.create_time, account.HasField("create_time")),
    }


def session_tokens_json(tokens: auth_service_pb2.SessionTokens, public_url: str) -> dict[str, Any]:
    return {
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
        "session_id": tokens.session_id,
        "account": account_json(tokens.account, public_url),
    }


def session_json(session: auth_service_pb2.Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "created_at": timestamp(session.create_time, session.HasField("create_time")),
        "last_used_at": timestamp(session.last_use_time, session.HasField("last_use_time")),
        "user_agent": session.user_agent,
        "current": session.current,
    }


def admin_account_json(account: auth_service_pb2.AdminAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "locked_at": timestamp(account.lock_time, account.HasField("lock_time")),
        "failed_attempts": account.failed_attempts,
    }


def unlock_request_json(request: auth_service_pb2.UnlockRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "account_id": request.account_id,
        "email": request.email,
        "requested_at": timestamp(request.request_time, request.HasField("request_time")),
    }


# --- schemas ---------------------------------------------------------------------------

UUID_SCHEMA: Schema = {"type": "string", "format": "uuid"}
# What json_text.py refuses in every string: C0 and C1 controls other than tab and line breaks.
NO_CONTROLS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
# auth's profile fields refuse tab and line breaks too (services/auth/validation.py).
NO_CONTROLS_AT_ALL = r"^[^\x00-\x1f\x7f-\x9f]*$"
# Required names: something left once trimmed, and no controls but tab and line breaks.
_TEXT = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
NOT_BLANK = rf"^{_TEXT}*[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{_TEXT}*$"
TIME_SCHEMA: Schema = {"type": "string", "format": "date-time"}
OPTIONAL_TIME_SCHEMA: Schema = {"type": ["string", "null"], "format": "date-time"}
# email-validator's rules (services/common/emails.py) go further than JSON Schema can say; a
# local part of at most 64 characters, a dot in the domain and no controls it can.
EMAIL_SCHEMA: Schema = {
    "type": "string",
    "format": "email",
    "minLength": 3,
    "maxLength": 254,
    "pattern": r"^[^@\x00-\x1f\x7f-\x9f]{1,64}@[^@\x00-\x1f\x7f-\x9f]+\.[^@\x00-\x1f\x7f-\x9f]+$",
}
# 256 is the contract's limit: longer passwords answer 422 before anything hashes them.
# "format": "password" also tells json_text.py that any character but a lone surrogate is
# the user's own choice (docs/api.md: any Unicode characters).
PASSWORD_SCHEMA: Schema = {"type": "string", "format": "password", "minLength": 1, "maxLength": 256}
# A password being set. Its minimum of 8 characters is auth's policy, not a schema bound: the
# contract answers a short one as 422 weak_password with a strength score (and counts after
# NFKC normalization), which a schema refusal (validation_failed) would not.
NEW_PASSWORD_SCHEMA: Schema = {
    **PASSWORD_SCHEMA,
    "description": "At least 8 characters after NFKC normalization, and not guessable "
    "(422 weak_password with the strength score otherwise).",
}
TOKEN_SCHEMA: Schema = {"type": "string", "minLength": 1, "maxLength": 512, "pattern": NO_CONTROLS}
# The limits auth enforces (validation.py), so the document tells clients the truth.
DISPLAY_NAME_SCHEMA: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    "pattern": NO_CONTROLS_AT_ALL,
}
BIRTH_DATE_SCHEMA: Schema = {
    "type": "string",
    "format": "date",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "description": "YYYY-MM-DD, in the past.",
}
GENDER_SCHEMA: Schema = {"type": "string", "maxLength": 50, "pattern": NO_CONTROLS_AT_ALL}

ACCOUNT_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "email",
        "role",
        "display_name",
        "birth_date",
        "gender",
        "email_verified",
        "photo_url",
        "created_at",
    ],
    "properties": {
        "id": UUID_SCHEMA,
        "email": {"type": "string", "format": "email"},
        "role": {"type": "string", "enum": list(ALL_ROLES)},
        "display_name": {"type": ["string", "null"]},
        "birth_date": {"type": ["string", "null"], "format": "date"},
        "gender": {"type": ["string", "null"]},
        "email_verified": {"type": "boolean"},
        "photo_url": {"type": ["string", "null"], "format": "uri"},
        "created_at": TIME_SCHEMA,
    },
}

SESSION_TOKENS_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "access_token",
        "token_type",
        "expires_in",
        "session_id",
        "account",
    ],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "const": "Bearer"},
        "expires_in": {"type": "integer"},
        "refresh_token": {
            "type": "string",
            "description": "Absent when the browser's trackcc_refresh cookie carries it.",
        },
        "session_id": UUID_SCHEMA,
        "account": ACCOUNT_SCHEMA,
    },
}

SESSION_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "created_at", "last_used_at", "user_agent", "current"],
    "properties": {
        "id": UUID_SCHEMA,
        "created_at": TIME_SCHEMA,
        "last_used_at": OPTIONAL_TIME_SCHEMA,
        "user_agent": {"type": "string"},
        "current": {"type": "boolean"},
    },
}

ADMIN_ACCOUNT_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "email", "locked_at", "failed_attempts"],
    "properties": {
        "id": UUID_SCHEMA,
        "email": {"type": "string"},
        "locked_at": OPTIONAL_TIME_SCHEMA,
        "failed_attempts": {"type": "integer"},
    },
}

UNLOCK_REQUEST_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "account_id", "email", "requested_at"],
    "properties": {
        "id": UUID_SCHEMA,
        "account_id": UUID_SCHEMA,
        "email": {"type": "string"},
        "requested_at": TIME_SCHEMA,
    },
}


def list_schema(item: Schema) -> Schema:
    """``{items, next_page_token}`` with ``next_page_token`` empty at the end."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["items", "next_page_token"],
        "properties": {
            "items": {"type": "array", "items": item},
            "next_page_token": {"type": "string"},
        },
    }


def object_schema(required: list[str], properties: dict[str, Schema]) -> Schema:
    """A request body: exactly these fields, unknown ones rejected."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }
