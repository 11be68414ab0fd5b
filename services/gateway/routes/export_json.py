"""The JSON of ``GET /v1/me/export``: everything the account owns or entered, in one document.

Each part keeps the shape its own route answers (account, session, class, student, invitation,
shared resource), so an export reads like the API. Photos travel as base64; a student whose
photo did not fit in roster's export keeps its ``photo_url`` as a link.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.gateway.routes.auth_json import (
    ACCOUNT_SCHEMA,
    SESSION_SCHEMA,
    account_json,
    session_json,
)
from services.gateway.routes.common import TIME_SCHEMA, UUID_SCHEMA
from services.gateway.routes.roster_json import (
    CLASS_SCHEMA,
    STUDENT_SCHEMA,
    account_photo_url,
    class_json,
    student_json,
)
from services.gateway.routes.sharing_json import (
    INVITATION_SCHEMA,
    SHARED_RESOURCE_SCHEMA,
    invitation_json,
    shared_resource_json,
)
from services.gateway.validation import Schema
from trackcc.auth.v1 import auth_service_pb2
from trackcc.roster.v1 import roster_service_pb2
from trackcc.sharing.v1 import sharing_service_pb2

# roster's key for the account's own photo in UserDataExport.photos.
ACCOUNT_PHOTO_KEY = "me"
EXPORT_FORMAT = "trackcc-export-1"


@dataclass(frozen=True)
class ExportParts:
    """What each service answered for the caller."""

    auth: auth_service_pb2.AccountExport
    roster: roster_service_pb2.UserDataExport
    invitations_sent: Sequence[sharing_service_pb2.Invitation]
    invitations_received: Sequence[sharing_service_pb2.Invitation]
    shared_with_me: Sequence[sharing_service_pb2.SharedResource]


def media_type(data: bytes) -> str:
    """The stored type of a photo, from its first bytes (roster stores only these three)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def photo_entry(key: str, data: bytes) -> dict[str, Any]:
    is_account = key == ACCOUNT_PHOTO_KEY
    return {
        "subject": "account" if is_account else "student",
        "student_id": None if is_account else key,
        "media_type": media_type(data),
        "data_base64": base64.b64encode(data).decode("ascii"),
    }


def export_json(parts: ExportParts, public_url: str, now: datetime | None = None) -> dict[str, Any]:
    account = account_json(parts.auth.account, public_url)
    photos = parts.roster.photos
    if ACCOUNT_PHOTO_KEY in photos:
        # auth does not know yet whether roster holds an account photo; the export does.
        account["photo_url"] = account_photo_url(public_url)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "account": account,
        "sessions": [session_json(session) for session in parts.auth.sessions],
        "classes": [class_json(school_class) for school_class in parts.roster.classes],
        "students": [student_json(student, public_url) for student in parts.roster.students],
        "photos": [photo_entry(key, photos[key]) for key in sorted(photos)],
        "invitations_sent": [invitation_json(i) for i in parts.invitations_sent],
        "invitations_received": [invitation_json(i) for i in parts.invitations_received],
        "shared_with_me": [shared_resource_json(s) for s in parts.shared_with_me],
    }


def _array(item: Schema) -> Schema:
    return {"type": "array", "items": item}


PHOTO_ENTRY_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["subject", "student_id", "media_type", "data_base64"],
    "properties": {
        "subject": {"type": "string", "enum": ["account", "student"]},
        "student_id": {"anyOf": [UUID_SCHEMA, {"type": "null"}]},
        "media_type": {"type": "string"},
        "data_base64": {"type": "string", "contentEncoding": "base64"},
    },
}
EXPORT_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "format",
        "exported_at",
        "account",
        "sessions",
        "classes",
        "students",
        "photos",
        "invitations_sent",
        "invitations_received",
        "shared_with_me",
    ],
    "properties": {
        "format": {"type": "string", "const": EXPORT_FORMAT},
        "exported_at": TIME_SCHEMA,
        "account": ACCOUNT_SCHEMA,
        "sessions": _array(SESSION_SCHEMA),
        "classes": _array(CLASS_SCHEMA),
        "students": {
            **_array(STUDENT_SCHEMA),
            "description": "A student whose photo is not among `photos` keeps it as a link.",
        },
        "photos": _array(PHOTO_ENTRY_SCHEMA),
        "invitations_sent": _array(INVITATION_SCHEMA),
        "invitations_received": _array(INVITATION_SCHEMA),
        "shared_with_me": _array(SHARED_RESOURCE_SCHEMA),
    },
}
