"""Every record a non-owner receives in a list leaves a ``viewed`` entry in the owner's access
log, coalesced as single reads are (issue 11, item 8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.gateway import RunningGateway
from tests.support.grants import granted
from tests.support.roster_calls import call, create_class, create_student, new_user
from tests.support.sharing_stack import SharingStack, User, sharing_stack


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SharingStack]:
    async with sharing_stack(pg_endpoint, pki, tmp_path_factory.mktemp("list-views")) as running:
        yield running


async def views_by(gateway: RunningGateway, owner: User, path: str, actor: User) -> int:
    log: dict[str, Any] = await call(gateway, "GET", f"{path}/access-log", owner, 200)
    return sum(
        1 for entry in log["items"] if entry["action"] == "viewed" and entry["actor_id"] == actor.id
    )


async def test_a_guardians_list_reads_are_logged(stack: SharingStack) -> None:
    gateway = stack.gateway
    owner = await new_user(gateway)
    school_class = await create_class(gateway, owner)
    student = await create_student(gateway, owner, (school_class["id"],), notes="allergies")
    class_path, student_path = f"/v1/classes/{school_class['id']}", f"/v1/students/{student['id']}"
    guardian, _ = await granted(stack, owner, class_path, "viewer")
    assert await views_by(gateway, owner, student_path, guardian) == 0
    assert await views_by(gateway, owner, class_path, guardian) == 0

    listed = await call(gateway, "GET", "/v1/students", guardian, 200)
    assert [item["notes"] for item in listed["items"]] == ["allergies"]
    assert await views_by(gateway, owner, student_path, guardian) == 1
    classes = await call(gateway, "GET", "/v1/classes", guardian, 200)
    assert [item["id"] for item in classes["items"]] == [school_class["id"]]
    assert await views_by(gateway, owner, class_path, guardian) == 1

    # Coalesced as single reads are: one entry an hour, however often the list is read.
    await call(gateway, "GET", "/v1/students", guardian, 200)
    await call(gateway, "GET", f"{class_path}/students", guardian, 200)
    assert await views_by(gateway, owner, student_path, guardian) == 1
    # The owner's own reads are never in the log.
    await call(gateway, "GET", "/v1/students", owner, 200)
    await call(gateway, "GET", "/v1/classes", owner, 200)
    assert await views_by(gateway, owner, student_path, owner) == 0
    assert await views_by(gateway, owner, class_path, owner) == 0


async def test_an_editors_class_page_is_logged(stack: SharingStack) -> None:
    gateway = stack.gateway
    owner = await new_user(gateway)
    school_class = await create_class(gateway, owner)
    student = await create_student(gateway, owner, (school_class["id"],))
    class_path, student_path = f"/v1/classes/{school_class['id']}", f"/v1/students/{student['id']}"
    editor, _ = await granted(stack, owner, class_path, "editor", role="teacher")
    assert await views_by(gateway, owner, student_path, editor) == 0
    page = await call(gateway, "GET", f"{class_path}/students", editor, 200)
    assert [item["id"] for item in page["items"]] == [student["id"]]
    assert await views_by(gateway, owner, student_path, editor) == 1
