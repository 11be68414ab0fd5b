"""Rows become the messages roster answers with, field for field."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from services.roster import students
from services.roster.classes import ClassRow
from services.roster.convert import class_message, student_message, student_messages
from services.roster.students import StudentRow
from trackcc.roster.v1 import roster_service_pb2 as pb

CREATED = datetime(2026, 11, 28, 16, 0, 1, 123456, tzinfo=UTC)
UPDATED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
OWNER = uuid.uuid4()
SEEN, HIDDEN = sorted([uuid.uuid4(), uuid.uuid4()])


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _student(**changes: Any) -> StudentRow:
    row = StudentRow(
        id=uuid.uuid4(),
        owner_id=OWNER,
        display_name="Ada",
        birth_date=date(2015, 3, 4),
        gender="f",
        notes="likes maths",
        class_ids=[SEEN, HIDDEN],
        has_photo=True,
        created_at=CREATED,
        updated_at=UPDATED,
    )
    return row._replace(**changes)


def test_a_student_with_every_field() -> None:
    row = _student()
    assert student_message(row, pb.ACCESS_OWNER, None) == pb.Student(
        id=str(row.id),
        display_name="Ada",
        birth_date="2015-03-04",
        gender="f",
        notes="likes maths",
        class_ids=[str(SEEN), str(HIDDEN)],
        has_photo=True,
        owner_id=str(OWNER),
        access=pb.ACCESS_OWNER,
        create_time=_timestamp(CREATED),
        update_time=_timestamp(UPDATED),
    )


def test_unset_fields_stay_unset() -> None:
    message = student_message(
        _student(birth_date=None, gender=None, notes=None, has_photo=False), pb.ACCESS_VIEWER, None
    )
    for name in ("birth_date", "gender", "notes"):
        assert not message.HasField(name)
    assert not message.has_photo


def test_only_the_owner_sees_every_class_id() -> None:
    owned, shared = _student(), _student(owner_id=uuid.uuid4())
    access = {owned.id: pb.ACCESS_OWNER, shared.id: pb.ACCESS_VIEWER}
    mine, theirs = student_messages([owned, shared], access, {SEEN})
    assert list(mine.class_ids) == [str(SEEN), str(HIDDEN)]
    assert list(theirs.class_ids) == [str(SEEN)]
    assert theirs.access == pb.ACCESS_VIEWER


def test_a_class() -> None:
    row = ClassRow(
        id=uuid.uuid4(),
        owner_id=OWNER,
        name="5B",
        term=None,
        student_count=30,
        created_at=CREATED,
        updated_at=UPDATED,
    )
    message = class_message(row, pb.ACCESS_EDITOR)
    assert message == pb.Class(
        id=str(row.id),
        name="5B",
        owner_id=str(OWNER),
        access=pb.ACCESS_EDITOR,
        student_count=30,
        create_time=_timestamp(CREATED),
        update_time=_timestamp(UPDATED),
    )
    assert not message.HasField("term")
    assert class_message(dataclasses.replace(row, term="autumn"), pb.ACCESS_OWNER).term == "autumn"


def test_rows_are_selected_in_field_order() -> None:
    # A record becomes a StudentRow by position.
    assert re.findall(r" AS (\w+)(?:,|$)", students._COLUMNS) == list(StudentRow._fields)
