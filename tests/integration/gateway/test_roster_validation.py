"""What the gateway and roster refuse before anything changes: missing tokens, invalid bodies
(422 naming the fields), and Idempotency-Key replays of creates."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.support.gateway import RunningGateway
from tests.support.http_checks import problem_of
from tests.support.roster_calls import (
    call,
    create_class,
    create_student,
    new_user,
    problem,
)
from tests.support.sharing_stack import User


@pytest.fixture(scope="module")
async def owner(gateway: RunningGateway) -> User:
    return await new_user(gateway)


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
# Every row of docs/api.md's roster table (photos: test_photos.py), with a valid body where one is
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
