"""Classes, students and enrollments through the gateway, against real roster and sharing.

What the owner does and what everyone else (who was not invited) learns: nothing. Grants are
in test_roster_sharing.py, photos in test_photos.py.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.integration.gateway.roster_support import (
    CLASS_FIELDS,
    STUDENT_FIELDS,
    call,
    create_class,
    create_student,
    new_user,
    problem,
    random_id,
)
from tests.integration.gateway.sharing_support import User
from tests.integration.gateway.test_ops import problem_of
from tests.support.gateway import RunningGateway


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


@pytest.mark.parametrize(
    ("method", "path", "body", "fields"),
    [
        ("POST", "/v1/classes", {}, ["name"]),
        ("POST", "/v1/classes", {"name": ""}, ["name"]),
        ("POST", "/v1/classes", {"name": "   "}, ["name"]),
        ("POST", "/v1/classes", {"name": "x" * 101}, ["name"]),
        ("POST", "/v1/classes", {"name": "7B", "owner_id": "someone"}, ["owner_id"]),
        (
            "POST",
            "/v1/students",
            {"display_name": "Kim", "birth_date": "2014-13-40"},
            ["birth_date"],
        ),
        (
            "POST",
            "/v1/students",
            {"display_name": "Kim", "birth_date": "2999-01-01"},
            ["birth_date"],
        ),
        ("POST", "/v1/students", {"display_name": "Kim", "notes": "n" * 2001}, ["notes"]),
        ("POST", "/v1/students", {"display_name": "Kim", "class_ids": ["nope"]}, ["class_ids.0"]),
        ("POST", "/v1/students", {"display_name": "Kim", "access": "owner"}, ["access"]),
        ("POST", "/v1/students", {"gender": 3}, ["display_name", "gender"]),
    ],
)
async def test_invalid_bodies_answer_422_naming_the_fields(
    gateway: RunningGateway,
    owner: User,
    method: str,
    path: str,
    body: dict[str, object],
    fields: list[str],
) -> None:
    answer = await problem(gateway, method, path, owner, 422, "validation_failed", body)
    assert sorted(error["field"] for error in answer["errors"]) == fields


async def test_patches_are_validated(gateway: RunningGateway, owner: User) -> None:
    school_class = await create_class(gateway, owner)
    student = await create_student(gateway, owner)
    class_path = f"/v1/classes/{school_class['id']}"
    student_path = f"/v1/students/{student['id']}"
    await problem(gateway, "PATCH", class_path, owner, 422, "validation_failed", {})
    answer = await problem(
        gateway, "PATCH", class_path, owner, 422, "validation_failed", {"name": None}
    )
    assert [error["field"] for error in answer["errors"]] == ["name"]
    answer = await problem(
        gateway, "PATCH", student_path, owner, 422, "validation_failed", {"class_ids": []}
    )
    assert [error["field"] for error in answer["errors"]] == ["class_ids"]
    answer = await problem(
        gateway, "PATCH", student_path, owner, 422, "validation_failed", {"display_name": " "}
    )
    assert [error["field"] for error in answer["errors"]] == ["display_name"]
    async with gateway.http.patch(
        class_path, data="name=x", headers=owner.headers | {"Content-Type": "text/plain"}
    ) as response:
        await problem_of(response, 415, "unsupported_media_type")
    await problem(gateway, "GET", "/v1/classes/not-a-uuid", owner, 404, "not_found")


async def test_idempotent_class_creation(gateway: RunningGateway) -> None:
    teacher = await new_user(gateway)
    key = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    body = {"name": "Biology"}
    first = await call(gateway, "POST", "/v1/classes", teacher, 201, body, key)
    again = await call(gateway, "POST", "/v1/classes", teacher, 201, body, key)
    assert again == first
    listed = await call(gateway, "GET", "/v1/classes", teacher, 200)
    assert [item["id"] for item in listed["items"]] == [first["id"]]  # one row

    answer = await problem(
        gateway,
        "POST",
        "/v1/classes",
        teacher,
        422,
        "idempotency_key_reused",
        {"name": "Chem"},
        key,
    )
    assert [error["field"] for error in answer["errors"]] == ["Idempotency-Key"]
    # Keys are the caller's own: another account may use the same key for its own class.
    other = await new_user(gateway)
    theirs = await call(gateway, "POST", "/v1/classes", other, 201, body, key)
    assert theirs["id"] != first["id"] and theirs["owner_id"] == other.id
    await problem(
        gateway,
        "POST",
        "/v1/classes",
        teacher,
        422,
        "validation_failed",
        body,
        {"Idempotency-Key": "has spaces"},
    )


async def test_concurrent_replays_make_one_class(gateway: RunningGateway) -> None:
    teacher = await new_user(gateway)
    key = {"Idempotency-Key": f"race-{uuid.uuid4()}"}

    async def create() -> int:
        async with gateway.http.post(
            "/v1/classes", json={"name": "Art"}, headers=teacher.headers | key
        ) as response:
            return response.status

    statuses = await asyncio.gather(*(create() for _ in range(4)))
    # A replay while the first still runs answers 409; every other one gets the first answer.
    assert set(statuses) <= {201, 409} and 201 in statuses
    listed = await call(gateway, "GET", "/v1/classes", teacher, 200)
    assert len(listed["items"]) == 1


ANY = "0b4f6f0e-0000-4000-8000-000000000000"
# Every row of API.md's roster table (photos: test_photos.py), with a valid body where one is
# needed, so that only the missing token can be the reason for the answer.
ROSTER_ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("POST", "/v1/classes", {"name": "7B"}),
    ("GET", "/v1/classes", None),
    ("GET", f"/v1/classes/{ANY}", None),
    ("PATCH", f"/v1/classes/{ANY}", {"name": "7C"}),
    ("DELETE", f"/v1/classes/{ANY}", None),
    ("POST", "/v1/students", {"display_name": "Kim"}),
    ("GET", "/v1/students", None),
    ("GET", f"/v1/students/{ANY}", None),
    ("PATCH", f"/v1/students/{ANY}", {"notes": "x"}),
    ("DELETE", f"/v1/students/{ANY}", None),
    ("GET", f"/v1/classes/{ANY}/students", None),
    ("PUT", f"/v1/classes/{ANY}/students/{ANY}", None),
    ("DELETE", f"/v1/classes/{ANY}/students/{ANY}", None),
    ("GET", "/v1/me/export", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROSTER_ROUTES)
async def test_every_roster_route_requires_a_token(
    gateway: RunningGateway, method: str, path: str, body: dict[str, object] | None
) -> None:
    async with gateway.http.request(method, path, json=body) as response:
        await problem_of(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
