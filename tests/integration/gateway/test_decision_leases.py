"""Decision leases never outlive a change that takes access away (docs/api.md: "Revoking a
grant or deleting a resource takes effect on the next request").

Roster reuses sharing's leased answers for a class page (services/roster/decision_leases.py);
every change that narrows access answers only after those leases have run out
(services/sharing/decision_leases.py). Here the tests' sharing leases answers for
TEST_DECISION_LEASE_SECONDS; each test reads the page just before the change, so that a
lease is live when the change is made, and reads it again right after the answer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.grants import granted
from tests.support.roster_calls import call, create_class, create_student, new_user, problem
from tests.support.services import TEST_DECISION_LEASE_SECONDS
from tests.support.sharing_stack import SharingStack, User, mailed_token, sharing_stack

LEASE = float(TEST_DECISION_LEASE_SECONDS)


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SharingStack]:
    async with sharing_stack(pg_endpoint, pki, tmp_path_factory.mktemp("leases")) as running:
        yield running


async def _page(stack: SharingStack, user: User, class_id: str) -> list[tuple[str, str]]:
    """(student id, access) of the first page of a class's students, read twice: the second
    read is the one a lease may answer."""
    path = f"/v1/classes/{class_id}/students"
    await call(stack.gateway, "GET", path, user, 200)
    page: dict[str, Any] = await call(stack.gateway, "GET", path, user, 200)
    return [(item["id"], item["access"]) for item in page["items"]]


async def _timed_delete(stack: SharingStack, path: str, user: User) -> float:
    started = time.monotonic()
    await call(stack.gateway, "DELETE", path, user, 204)
    return time.monotonic() - started


async def _shared_class(stack: SharingStack) -> tuple[User, str, str, User, dict[str, Any]]:
    owner = await new_user(stack.gateway)
    class_id = (await create_class(stack.gateway, owner))["id"]
    student_id = (await create_student(stack.gateway, owner, (class_id,)))["id"]
    guardian, grant = await granted(stack, owner, f"/v1/classes/{class_id}", "viewer")
    assert await _page(stack, guardian, class_id) == [(student_id, "viewer")]
    return owner, class_id, student_id, guardian, grant


@pytest.mark.parametrize("ended_by", ["owner revokes", "guardian leaves"])
async def test_a_guardian_whose_grant_ended_gets_not_found_on_the_very_next_page(
    stack: SharingStack, ended_by: str
) -> None:
    owner, class_id, _, guardian, grant = await _shared_class(stack)
    await _page(stack, guardian, class_id)
    deleter = owner if ended_by == "owner revokes" else guardian
    assert await _timed_delete(stack, f"/v1/grants/{grant['id']}", deleter) >= LEASE
    await problem(
        stack.gateway, "GET", f"/v1/classes/{class_id}/students", guardian, 404, "not_found"
    )


async def test_an_unenrolled_student_leaves_the_page_and_the_access_it_gave_at_once(
    stack: SharingStack,
) -> None:
    # Kim is in 5A, where the colleague edits, and in the choir, where the colleague views:
    # on the choir's page Kim is the colleague's to edit only through 5A.
    gateway = stack.gateway
    owner = await new_user(gateway)
    five_a = (await create_class(gateway, owner, "5A"))["id"]
    choir = (await create_class(gateway, owner, "Choir"))["id"]
    kim = (await create_student(gateway, owner, (five_a, choir)))["id"]
    colleague, _ = await granted(stack, owner, f"/v1/classes/{five_a}", "editor", "teacher")
    path = f"/v1/classes/{choir}/invitations"
    body = {"email": colleague.email, "relation": "viewer", "role": "teacher"}
    await call(gateway, "POST", path, owner, 201, body)
    token = await mailed_token(stack, colleague.email, skip=1)
    await call(gateway, "POST", "/v1/invitations/accept", colleague, 200, {"token": token})
    assert await _page(stack, colleague, choir) == [(kim, "editor")]
    assert await _page(stack, colleague, five_a) == [(kim, "editor")]

    unenroll = f"/v1/classes/{five_a}/students/{kim}"
    assert await _timed_delete(stack, unenroll, owner) >= LEASE
    page = await call(gateway, "GET", f"/v1/classes/{five_a}/students", colleague, 200)
    assert page["items"] == []
    page = await call(gateway, "GET", f"/v1/classes/{choir}/students", colleague, 200)
    assert [(item["id"], item["access"], item["class_ids"]) for item in page["items"]] == [
        (kim, "viewer", [choir])
    ]
