"""Between protobuf messages and the domain: validation of fields, rows to messages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import date

from services.common.fields import invalid
from services.common.timestamps import set_timestamp
from services.roster.classes import ClassRow
from services.roster.students import StudentRow
from trackcc.roster.v1 import roster_service_pb2 as pb

MAX_NAME = 100
MAX_TERM = 100
MAX_GENDER = 50
MAX_NOTES = 2000
OLDEST_BIRTH_DATE = date(1900, 1, 1)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# C0/C1 control characters other than tab and newlines have no place in names or notes.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _clean(value: str, field: str) -> str:
    if _CONTROL.search(value):
        raise invalid(field, "must not contain control characters")
    return value.strip()


def required_name(value: str, field: str) -> str:
    """A display name or class name: trimmed, 1 to 100 characters; aliases are fine."""
    cleaned = _clean(value, field)
    if not cleaned:
        raise invalid(field, "must not be empty")
    if len(cleaned) > MAX_NAME:
        raise invalid(field, f"must be at most {MAX_NAME} characters")
    return cleaned


def optional_text(value: str | None, field: str, maximum: int) -> str | None:
    """Trimmed free text; empty means unset."""
    if value is None:
        return None
    cleaned = _clean(value, field)
    if len(cleaned) > maximum:
        raise invalid(field, f"must be at most {maximum} characters")
    return cleaned or None


def birth_date(value: str | None, today: date) -> date | None:
    """``YYYY-MM-DD``, a real date, not in the future and not before 1900."""
    if value is None or value == "":
        return None
    if not _DATE.match(value):
        raise invalid("birth_date", "must be a date written YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise invalid("birth_date", "is not a valid date") from None
    if parsed > today:
        raise invalid("birth_date", "must not be in the future")
    if parsed < OLDEST_BIRTH_DATE:
        raise invalid("birth_date", f"must not be before {OLDEST_BIRTH_DATE.isoformat()}")
    return parsed


def update_paths(paths: Collection[str], allowed: Collection[str]) -> list[str]:
    """The update mask's paths; an empty or unknown path is INVALID_ARGUMENT."""
    if not paths:
        raise invalid("update_mask", "must name at least one field")
    unknown = sorted(set(paths) - set(allowed))
    if unknown:
        raise invalid("update_mask", f"cannot change {', '.join(unknown)}")
    return sorted(set(paths))


def class_message(row: ClassRow, access: pb.Access.ValueType) -> pb.Class:
    message = pb.Class(
        id=str(row.id),
        name=row.name,
        owner_id=str(row.owner_id),
        access=access,
        student_count=row.student_count,
    )
    set_timestamp(message.create_time, row.created_at)
    set_timestamp(message.update_time, row.updated_at)
    if row.term is not None:
        message.term = row.term
    return message


def student_message(
    row: StudentRow, access: pb.Access.ValueType, visible_classes: Collection[uuid.UUID] | None
) -> pb.Student:
    """``visible_classes`` None means the caller may see every class of the student."""
    # Built once per student of a page: the times go straight into the message's own fields.
    message = pb.Student(
        id=str(row.id),
        display_name=row.display_name,
        class_ids=[str(c) for c in row.class_ids]
        if visible_classes is None
        else [str(c) for c in row.class_ids if c in visible_classes],
        has_photo=row.has_photo,
        owner_id=str(row.owner_id),
        access=access,
    )
    set_timestamp(message.create_time, row.created_at)
    set_timestamp(message.update_time, row.updated_at)
    if row.birth_date is not None:
        message.birth_date = row.birth_date.isoformat()
    if row.gender is not None:
        message.gender = row.gender
    if row.notes is not None:
        message.notes = row.notes
    return message


def class_ids_to_filter(
    rows: Sequence[StudentRow], access: Mapping[uuid.UUID, pb.Access.ValueType]
) -> set[uuid.UUID]:
    """The class ids that rows a non-owner gets would show: only readable ones may be shown."""
    return {c for row in rows if access[row.id] != pb.ACCESS_OWNER for c in row.class_ids}


def student_messages(
    rows: Sequence[StudentRow],
    access: Mapping[uuid.UUID, pb.Access.ValueType],
    readable_classes: Collection[uuid.UUID],
) -> list[pb.Student]:
    """Messages for rows; an owner sees every class id, anyone else only readable ones."""
    messages = []
    for row in rows:
        level = access[row.id]
        visible = None if level == pb.ACCESS_OWNER else readable_classes
        messages.append(student_message(row, level, visible))
    return messages
