"""JSON shapes of auth resources (proto -> snake_case JSON) and their schemas."""

from __future__ import annotations

from typing import Any

from services.gateway.routes.common import (
    OPTIONAL_TIME_SCHEMA,
    TIME_SCHEMA,
    UUID_SCHEMA,
    json_time,
)
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
        "created_at": json_time(account.create_time, account.HasField("create_time")),
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
        "created_at": json_time(session.create_time, session.HasField("create_time")),
        "last_used_at": json_time(session.last_use_time, session.HasField("last_use_time")),
        "user_agent": session.user_agent,
        "current": session.current,
    }


def admin_account_json(account: auth_service_pb2.AdminAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "locked_at": json_time(account.lock_time, account.HasField("lock_time")),
        "failed_attempts": account.failed_attempts,
    }


def unlock_request_json(request: auth_service_pb2.UnlockRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "account_id": request.account_id,
        "email": request.email,
        "requested_at": json_time(request.request_time, request.HasField("request_time")),
    }


# --- schemas ---------------------------------------------------------------------------

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


# auth's password policy reports its field as "password"; the bodies that set a new one
# (reset, change) call it new_password.
NEW_PASSWORD_FIELD = {"password": "new_password"}
