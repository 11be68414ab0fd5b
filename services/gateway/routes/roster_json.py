"""JSON shapes of roster resources (classes, students, photos) and their schemas."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf.message import Message

from services.common.timestamps import rfc3339
from services.gateway.routes.common import (
    BIRTH_DATE_SCHEMA,
    NO_CONTROLS,
    NOT_BLANK,
    TIME_SCHEMA,
    UUID_SCHEMA,
    at_least_one,
    json_time,
    nullable,
    object_schema,
)
from services.gateway.validation import Schema
from trackcc.roster.v1 import roster_service_pb2 as pb

ACCESS = {
    pb.ACCESS_OWNER: "owner",
    pb.ACCESS_EDITOR: "editor",
    pb.ACCESS_VIEWER: "viewer",
}
# roster's limits (services/roster/convert.py); roster trims and checks again.
MAX_NAME = 100
MAX_TERM = 100
MAX_GENDER = 50
MAX_NOTES = 2000
MAX_CLASSES_PER_STUDENT = 100


def _optional(message: Message, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def _time(message: Message, field: str) -> str | None:
    return json_time(getattr(message, field), message.HasField(field))


def student_photo_url(public_url: str, student_id: str) -> str:
    # Built from the configured public URL, never from the request's Host header.
    return f"{public_url}/v1/students/{student_id}/photo"


def account_photo_url(public_url: str) -> str:
    return f"{public_url}/v1/me/photo"


def class_json(school_class: pb.Class) -> dict[str, Any]:
    return {
        "id": school_class.id,
        "name": school_class.name,
        "term": _optional(school_class, "term"),
        "owner_id": school_class.owner_id,
        "access": ACCESS.get(school_class.access, "viewer"),
        "student_count": school_class.student_count,
        "created_at": _time(school_class, "create_time"),
        "updated_at": _time(school_class, "update_time"),
    }


def student_json(student: pb.Student, public_url: str) -> dict[str, Any]:
    # Once per student of a page: fields are read directly, not through the helpers above.
    has = student.HasField
    student_id = student.id
    return {
        "id": student_id,
        "display_name": student.display_name,
        "birth_date": student.birth_date if has("birth_date") else None,
        "gender": student.gender if has("gender") else None,
        "notes": student.notes if has("notes") else None,
        "class_ids": list(student.class_ids),
        "photo_url": student_photo_url(public_url, student_id) if student.has_photo else None,
        "owner_id": student.owner_id,
        "access": ACCESS.get(student.access, "viewer"),
        "created_at": rfc3339(student.create_time) if has("create_time") else None,
        "updated_at": rfc3339(student.update_time) if has("update_time") else None,
    }


def quoted_etag(etag: str) -> str:
    """An entity tag as HTTP writes it (RFC 9110: in double quotes)."""
    return f'"{etag}"'


def photo_json(photo: pb.Photo, photo_url: str) -> dict[str, Any]:
    return {
        "photo_url": photo_url,
        "width": photo.width,
        "height": photo.height,
        # The same string as the download's ETag header, ready for If-None-Match.
        "etag": quoted_etag(photo.etag),
    }


def fields_present(body: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The update mask of a PATCH: every field the body names, null or not."""
    return [name for name in names if name in body]


# --- schemas ---------------------------------------------------------------------------

NAME_SCHEMA: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": NOT_BLANK,
}
TERM_SCHEMA: Schema = {"type": "string", "maxLength": MAX_TERM, "pattern": NO_CONTROLS}
GENDER_SCHEMA: Schema = {"type": "string", "maxLength": MAX_GENDER, "pattern": NO_CONTROLS}
NOTES_SCHEMA: Schema = {"type": "string", "maxLength": MAX_NOTES, "pattern": NO_CONTROLS}
# roster's birth dates: from 1900 on (services/roster/convert.py), and not in the future.
STUDENT_BIRTH_DATE_SCHEMA: Schema = {
    **BIRTH_DATE_SCHEMA,
    "pattern": r"^(19|[2-9][0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}$",
    "description": "YYYY-MM-DD, from 1900-01-01 on and not in the future.",
}
ACCESS_SCHEMA: Schema = {"type": "string", "enum": list(ACCESS.values())}

CREATE_CLASS_SCHEMA = object_schema(["name"], {"name": NAME_SCHEMA, "term": nullable(TERM_SCHEMA)})
UPDATE_CLASS_SCHEMA = at_least_one(
    object_schema([], {"name": NAME_SCHEMA, "term": nullable(TERM_SCHEMA)})
)
STUDENT_PROFILE_PROPERTIES: dict[str, Schema] = {
    "display_name": NAME_SCHEMA,
    "birth_date": nullable(STUDENT_BIRTH_DATE_SCHEMA),
    "gender": nullable(GENDER_SCHEMA),
    "notes": nullable(NOTES_SCHEMA),
}
CREATE_STUDENT_SCHEMA = object_schema(
    ["display_name"],
    {
        **STUDENT_PROFILE_PROPERTIES,
        "class_ids": {
            "type": "array",
            "items": UUID_SCHEMA,
            "maxItems": MAX_CLASSES_PER_STUDENT,
        },
    },
)
# Enrollments change through PUT/DELETE /v1/classes/{id}/students/{student_id}.
UPDATE_STUDENT_SCHEMA = at_least_one(object_schema([], STUDENT_PROFILE_PROPERTIES))

CLASS_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "name",
        "term",
        "owner_id",
        "access",
        "student_count",
        "created_at",
        "updated_at",
    ],
    "properties": {
        "id": UUID_SCHEMA,
        "name": {"type": "string"},
        "term": {"type": ["string", "null"]},
        "owner_id": UUID_SCHEMA,
        "access": ACCESS_SCHEMA,
        "student_count": {"type": "integer", "minimum": 0},
        "created_at": TIME_SCHEMA,
        "updated_at": TIME_SCHEMA,
    },
}
STUDENT_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "display_name",
        "birth_date",
        "gender",
        "notes",
        "class_ids",
        "photo_url",
        "owner_id",
        "access",
        "created_at",
        "updated_at",
    ],
    "properties": {
        "id": UUID_SCHEMA,
        "display_name": {"type": "string"},
        "birth_date": {"type": ["string", "null"], "format": "date"},
        "gender": {"type": ["string", "null"]},
        "notes": {"type": ["string", "null"]},
        "class_ids": {
            "type": "array",
            "items": UUID_SCHEMA,
            "description": "The classes of the student that the caller may see.",
        },
        "photo_url": {"type": ["string", "null"], "format": "uri"},
        "owner_id": UUID_SCHEMA,
        "access": ACCESS_SCHEMA,
        "created_at": TIME_SCHEMA,
        "updated_at": TIME_SCHEMA,
    },
}
PHOTO_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["photo_url", "width", "height", "etag"],
    "properties": {
        "photo_url": {"type": "string", "format": "uri"},
        "width": {"type": "integer", "minimum": 1},
        "height": {"type": "integer", "minimum": 1},
        "etag": {
            "type": "string",
            "description": "The entity tag in quotes, as in the download's ETag header.",
        },
    },
}
