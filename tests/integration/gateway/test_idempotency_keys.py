"""An Idempotency-Key names one request (issue 11, item 4): the operation is part of what the
key stands for, one length limit holds everywhere, sharing checks authorization before it
replays, and sign-up honors the key."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.common.idempotency import MAX_REQUEST_ID
from tests.support.gateway import RunningGateway
from tests.support.roster_calls import call, create_class, new_user, problem
from tests.support.sharing_stack import PASSWORD, User, new_email


@pytest.fixture(scope="module")
async def teacher(gateway: RunningGateway) -> User:
    return await new_user(gateway)


def key_header(key: str = "") -> dict[str, str]:
    return {"Idempotency-Key": key or f"k-{uuid.uuid4()}"}


async def test_a_class_key_sent_to_create_a_student_is_reused_not_a_500(
    gateway: RunningGateway, teacher: User
) -> None:
    key = key_header()
    # The two requests encode to the same protobuf bytes.
    first = await call(gateway, "POST", "/v1/classes", teacher, 201, {"name": "0"}, key)
    answer = await problem(
        gateway,
        "POST",
        "/v1/students",
        teacher,
        422,
        "idempotency_key_reused",
        {"display_name": "0"},
        key,
    )
    assert [error["field"] for error in answer["errors"]] == ["Idempotency-Key"]
    # The key still names the class, and a new key makes the student.
    again = await call(gateway, "POST", "/v1/classes", teacher, 201, {"name": "0"}, key)
    assert again == first
    await call(gateway, "POST", "/v1/students", teacher, 201, {"display_name": "0"}, key_header())


@pytest.mark.parametrize("path", ["/v1/classes", "/v1/students", "/v1/accounts", "invitations"])
async def test_one_key_length_limit_everywhere(
    gateway: RunningGateway, teacher: User, path: str
) -> None:
    bodies = {
        "/v1/classes": {"name": "Long keys"},
        "/v1/students": {"display_name": "Long K."},
        "/v1/accounts": {"email": new_email(), "password": PASSWORD, "role": "teacher"},
    }
    if path == "invitations":
        school_class = await create_class(gateway, teacher)
        path = f"/v1/classes/{school_class['id']}/invitations"
        body = {"email": new_email(), "relation": "viewer", "role": "guardian"}
    else:
        body = bodies[path]
    too_long = "k" * (MAX_REQUEST_ID + 1)
    answer = await problem(
        gateway, "POST", path, teacher, 422, "validation_failed", body, key_header(too_long)
    )
    assert [error["field"] for error in answer["errors"]] == ["Idempotency-Key"]
    longest = "k" * (MAX_REQUEST_ID - 40) + uuid.uuid4().hex + "k" * 8
    assert len(longest) == MAX_REQUEST_ID
    await call(gateway, "POST", path, teacher, 201, body, key_header(longest))


async def test_no_invitation_replay_after_access_is_gone(
    gateway: RunningGateway, teacher: User
) -> None:
    school_class = await create_class(gateway, teacher)
    path = f"/v1/classes/{school_class['id']}/invitations"
    body = {"email": new_email(), "relation": "viewer", "role": "guardian"}
    key = key_header()
    first = await call(gateway, "POST", path, teacher, 201, body, key)
    assert await call(gateway, "POST", path, teacher, 201, body, key) == first
    await call(gateway, "DELETE", f"/v1/classes/{school_class['id']}", teacher, 204)
    # The class is gone: the caller may not see it, so the answer is 404, not the invitation.
    await problem(gateway, "POST", path, teacher, 404, "not_found", body, key)


async def test_a_retried_sign_up_with_the_same_key_gets_the_first_201(
    gateway: RunningGateway,
) -> None:
    body = {"email": new_email(), "password": PASSWORD, "role": "teacher", "display_name": "R"}
    key = key_header()

    async def sign_up(payload: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        async with gateway.http.post("/v1/accounts", json=payload, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    status, first = await sign_up(body, key)
    assert status == 201, first
    status, again = await sign_up(body, key)
    assert (status, again) == (201, first)
    # Without the key it is a second sign-up for a taken address.
    status, answer = await sign_up(body, {})
    assert (status, answer["code"]) == (409, "email_taken")
    # The same key with another body (or another password) is another request.
    for changed in ({**body, "display_name": "S"}, {**body, "password": PASSWORD + "!"}):
        status, answer = await sign_up(changed, key)
        assert (status, answer["code"]) == (422, "idempotency_key_reused"), answer
        assert [error["field"] for error in answer["errors"]] == ["Idempotency-Key"]
    # One account: the replay did not make another.
    async with gateway.http.post(
        "/v1/sessions", json={"email": body["email"], "password": PASSWORD}
    ) as response:
        assert response.status == 200
        assert (await response.json())["account"]["id"] == first["id"]
