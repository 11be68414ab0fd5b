"""Email change through the gateway (confirmation to the new address, notice to the old), and
the proof of an address by accepting an invitation mailed to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    CHANGE_NOTICE_SUBJECT,
    CHANGE_SUBJECT,
    PASSWORD,
    AuthStack,
    Session,
    assert_no_mail_holds,
    auth_stack,
    new_email,
    new_user,
    sign_in,
    sign_in_response,
    sign_up,
    wait_for_mail,
)
from tests.support.http_checks import problem_of


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    async with auth_stack(pg_endpoint, pki, tmp_path_factory.mktemp("auth-email")) as running:
        yield running


async def _me(stack: AuthStack, session: Session) -> dict[str, Any]:
    async with stack.http.get("/v1/me", headers=session.headers) as response:
        assert response.status == 200, await response.text()
        account: dict[str, Any] = await response.json()
    return account


async def _change(stack: AuthStack, session: Session, new: str, password: str = PASSWORD) -> Any:
    body = {"new_email": new, "password": password}
    async with stack.http.post("/v1/me/email", json=body, headers=session.headers) as response:
        return response.status, await response.json(
            content_type=None
        ) if response.status != 202 else None


async def test_an_email_change_happens_when_the_new_address_confirms(stack: AuthStack) -> None:
    old, session = await new_user(stack, "old")
    new = new_email("new")
    status, problem = await _change(stack, session, new, "not my password 12")
    assert (status, problem["code"]) == (401, "invalid_credentials")

    assert await _change(stack, session, new) == (202, None)
    confirmation = await wait_for_mail(stack, new, CHANGE_SUBJECT)
    await wait_for_mail(stack, old, CHANGE_NOTICE_SUBJECT)
    assert (await _me(stack, session))["email"] == old  # not before confirmation

    body = {"token": confirmation.token("/verify")}
    async with stack.http.post("/v1/accounts/verify", json=body) as response:
        assert response.status == 204, await response.text()
    account = await _me(stack, session)
    assert account["email"] == new and account["email_verified"] is True
    await sign_in(stack, new)
    status, _ = await sign_in_response(stack, old)
    assert status == 401
    assert_no_mail_holds(stack, PASSWORD)


async def test_changing_to_a_taken_address_is_409(stack: AuthStack) -> None:
    taken, _ = await new_user(stack, "taken")
    _, session = await new_user(stack, "mover")
    status, problem = await _change(stack, session, taken.upper())
    assert (status, problem["code"]) == (409, "email_taken")


async def test_confirming_an_address_taken_meanwhile_is_409(stack: AuthStack) -> None:
    old, session = await new_user(stack, "slow")
    new = new_email("contested")
    assert await _change(stack, session, new) == (202, None)
    token = (await wait_for_mail(stack, new, CHANGE_SUBJECT)).token("/verify")
    await sign_up(stack, new)  # someone else signs up with it before the link is followed
    async with stack.http.post("/v1/accounts/verify", json={"token": token}) as response:
        await problem_of(response, 409, "email_taken")
    assert (await _me(stack, session))["email"] == old


async def test_accepting_an_invitation_from_its_mail_verifies_that_address(
    stack: AuthStack,
) -> None:
    _, owner = await new_user(stack, "owner")
    invitee_address, invitee = await new_user(stack, "invitee")
    assert (await _me(stack, invitee))["email_verified"] is False
    async with stack.http.post("/v1/classes", json={"name": "7B"}, headers=owner.headers) as r:
        assert r.status == 201, await r.text()
        class_id = (await r.json())["id"]
    invitation = {"email": invitee_address, "relation": "viewer", "role": "guardian"}
    path = f"/v1/classes/{class_id}/invitations"
    async with stack.http.post(path, json=invitation, headers=owner.headers) as response:
        assert response.status == 201, await response.text()
    mail = await wait_for_mail(stack, invitee_address, "invited you")
    body = {"token": mail.token("/invitations/accept")}
    async with stack.http.post(
        "/v1/invitations/accept", json=body, headers=invitee.headers
    ) as response:
        assert response.status == 200, await response.text()
        grant = await response.json()
    assert "proven_email" not in grant
    assert grant["grantee_email"] == invitee_address
    assert (await _me(stack, invitee))["email_verified"] is True
