"""Classes, students and enrollments through the gateway, against real roster and sharing.

What the owner does and what everyone else (who was not invited) learns: nothing. Grants are
in test_roster_sharing.py, photos in test_photos.py.
"""

from __future__ import annotations

import pytest

from tests.support.gateway import RunningGateway
from tests.support.roster_calls import (
    CLASS_FIELDS,
    STUDENT_FIELDS,
    call,
    create_class,
    create_student,
    new_user,
    problem,
    random_id,
)
from tests.support.sharing_stack import User


@pytest.fixture(scope="module")
async def owner(gateway: RunningGateway) -> User:
    return await new_user(gateway)


async def test_owner_creates_reads_changes_and_deletes_a_class(
    gateway: RunningGateway, owner: User
) -> None:
    created = await create_class(gateway, owner, "  Maths 7B  ")
    assert set(created) == CLASS_FIELDS
    assert created["name"] == "Maths 7B"  # trimmed
    assert (created["term"], created["owner_id"], created["access"]) == (
        "2026/27 autumn",
        owner.id,
        "owner",
    )
    assert created["student_count"] == 0
    assert created["created_at"].endswith("Z") and created["updated_at"].endswith("Z")
    path = f"/v1/classes/{created['id']}"
    assert await call(gateway, "GET", path, owner, 200) == created

    renamed = await call(gateway, "PATCH", path, owner, 200, {"name": "Maths 7C"})
    assert (renamed["name"], renamed["term"]) == ("Maths 7C", "2026/27 autumn")
    cleared = await call(gateway, "PATCH", path, owner, 200, {"term": None})
    assert (cleared["name"], cleared["term"]) == ("Maths 7C", None)

    listed = await call(gateway, "GET", "/v1/classes", owner, 200)
    assert created["id"] in [item["id"] for item in listed["items"]]

    await call(gateway, "DELETE", path, owner, 204)
    await problem(gateway, "GET", path, owner, 404, "not_found")
    await problem(gateway, "DELETE", path, owner, 404, "not_found")


async def test_owner_creates_reads_changes_and_deletes_a_student(
    gateway: RunningGateway, owner: User
) -> None:
    school_class = await create_class(gateway, owner)
    created = await create_student(
        gateway,
        owner,
        (school_class["id"],),
        birth_date="2014-03-02",
        gender="f",
        notes="Allergic to nuts",
    )
    assert set(created) == STUDENT_FIELDS
    assert (created["display_name"], created["birth_date"], created["gender"]) == (
        "Sam R.",
        "2014-03-02",
        "f",
    )
    assert created["notes"] == "Allergic to nuts"
    assert created["class_ids"] == [school_class["id"]]
    assert (created["photo_url"], created["owner_id"], created["access"]) == (
        None,
        owner.id,
        "owner",
    )
    path = f"/v1/students/{created['id']}"
    assert await call(gateway, "GET", path, owner, 200) == created

    changed = await call(
        gateway, "PATCH", path, owner, 200, {"display_name": "Sam", "notes": None, "gender": None}
    )
    assert (changed["display_name"], changed["notes"], changed["gender"]) == ("Sam", None, None)
    assert changed["birth_date"] == "2014-03-02"  # not named in the PATCH: unchanged

    listed = await call(gateway, "GET", "/v1/students?page_size=200", owner, 200)
    assert created["id"] in [item["id"] for item in listed["items"]]
    enrolled = await call(gateway, "GET", f"/v1/classes/{school_class['id']}/students", owner, 200)
    assert [item["id"] for item in enrolled["items"]] == [created["id"]]

    await call(gateway, "DELETE", path, owner, 204)
    await problem(gateway, "GET", path, owner, 404, "not_found")
    # Deleting a student takes it out of its classes.
    after = await call(gateway, "GET", f"/v1/classes/{school_class['id']}", owner, 200)
    assert after["student_count"] == 0
    enrolled = await call(gateway, "GET", f"/v1/classes/{school_class['id']}/students", owner, 200)
    assert enrolled == {"items": [], "next_page_token": ""}


async def test_enrollment_is_idempotent_and_deleting_a_class_keeps_its_students(
    gateway: RunningGateway, owner: User
) -> None:
    school_class = await create_class(gateway, owner)
    student = await create_student(gateway, owner)
    enrollment = f"/v1/classes/{school_class['id']}/students/{student['id']}"
    await call(gateway, "PUT", enrollment, owner, 204)
    await call(gateway, "PUT", enrollment, owner, 204)  # idempotent
    counted = await call(gateway, "GET", f"/v1/classes/{school_class['id']}", owner, 200)
    assert counted["student_count"] == 1
    read = await call(gateway, "GET", f"/v1/students/{student['id']}", owner, 200)
    assert read["class_ids"] == [school_class["id"]]

    await call(gateway, "DELETE", enrollment, owner, 204)
    await problem(gateway, "DELETE", enrollment, owner, 404, "not_found")
    await call(gateway, "PUT", enrollment, owner, 204)

    await call(gateway, "DELETE", f"/v1/classes/{school_class['id']}", owner, 204)
    kept = await call(gateway, "GET", f"/v1/students/{student['id']}", owner, 200)
    assert kept["class_ids"] == []


async def test_a_student_joins_only_classes_of_its_own_owner(
    gateway: RunningGateway, owner: User
) -> None:
    other = await new_user(gateway)
    theirs = await create_class(gateway, other)
    student = await create_student(gateway, owner)
    # Someone else's class is invisible to the owner: 404, whatever the student.
    path = f"/v1/classes/{theirs['id']}/students/{student['id']}"
    await problem(gateway, "PUT", path, owner, 404, "not_found")
    await problem(
        gateway,
        "POST",
        "/v1/students",
        owner,
        404,
        "not_found",
        {"display_name": "Kim", "class_ids": [theirs["id"]]},
    )
    mine = await create_class(gateway, owner)
    await problem(
        gateway, "PUT", f"/v1/classes/{mine['id']}/students/{random_id()}", owner, 404, "not_found"
    )


async def test_a_stranger_learns_nothing(gateway: RunningGateway, owner: User) -> None:
    school_class = await create_class(gateway, owner)
    student = await create_student(gateway, owner, (school_class["id"],))
    stranger = await new_user(gateway, "guardian")
    class_path = f"/v1/classes/{school_class['id']}"
    student_path = f"/v1/students/{student['id']}"
    for method, path, body in [
        ("GET", class_path, None),
        ("PATCH", class_path, {"name": "Mine now"}),
        ("DELETE", class_path, None),
        ("GET", f"{class_path}/students", None),
        ("PUT", f"{class_path}/students/{student['id']}", None),
        ("DELETE", f"{class_path}/students/{student['id']}", None),
        ("GET", student_path, None),
        ("PATCH", student_path, {"notes": "x"}),
        ("DELETE", student_path, None),
        ("GET", f"{student_path}/photo", None),
        ("DELETE", f"{student_path}/photo", None),
    ]:
        await problem(gateway, method, path, stranger, 404, "not_found", body)
    assert await call(gateway, "GET", "/v1/classes", stranger, 200) == {
        "items": [],
        "next_page_token": "",
    }
    assert (await call(gateway, "GET", "/v1/students", stranger, 200))["items"] == []
    # Nothing changed for the owner.
    assert (await call(gateway, "GET", class_path, owner, 200))["name"] == school_class["name"]


async def test_lists_are_paginated(gateway: RunningGateway) -> None:
    teacher = await new_user(gateway)
    school_class = await create_class(gateway, teacher)
    made = [
        await create_student(gateway, teacher, (school_class["id"],), display_name=f"S{i}")
        for i in range(5)
    ]
    for path in ("/v1/students", f"/v1/classes/{school_class['id']}/students"):
        seen: list[str] = []
        token = ""
        pages = 0
        while True:
            query = f"?page_size=2&page_token={token}" if token else "?page_size=2"
            page = await call(gateway, "GET", path + query, teacher, 200)
            assert len(page["items"]) <= 2
            seen += [item["id"] for item in page["items"]]
            pages += 1
            token = page["next_page_token"]
            if not token:
                break
        assert pages == 3
        assert sorted(seen) == sorted(student["id"] for student in made)
    await problem(
        gateway, "GET", "/v1/students?page_token=garbage", teacher, 400, "invalid_page_token"
    )
    await problem(gateway, "GET", "/v1/classes?page_size=201", teacher, 422, "validation_failed")
    classes = await call(gateway, "GET", "/v1/classes?page_size=1", teacher, 200)
    assert [item["id"] for item in classes["items"]] == [school_class["id"]]
    assert classes["next_page_token"] == ""
