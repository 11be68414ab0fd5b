"""DELETE /v1/me through the gateway: sign-in stops at once, and within 60 s the account's
classes, students and sharing tuples are gone (roster and sharing purge it), with a receipt;
the people it shared with lose the access and the invitations it sent disappear."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    DELETION_SUBJECT,
    PASSWORD,
    RECEIPT_SUBJECT,
    VERIFY_SUBJECT,
    AuthStack,
    Session,
    assert_no_mail_holds,
    auth_stack,
    new_user,
    sign_in,
    sign_in_response,
    status_of,
    wait_for_mail,
)
from tests.support.http_checks import problem_of

# docs/api.md: everything the account owns is gone within 60 s.
PURGE_LIMIT_SECONDS = 60.0


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    async with auth_stack(pg_endpoint, pki, tmp_path_factory.mktemp("auth-delete")) as running:
        yield running


async def _create(stack: AuthStack, session: Session, path: str, body: dict[str, Any]) -> str:
    async with stack.http.post(path, json=body, headers=session.headers) as response:
        assert response.status == 201, await response.text()
        created: dict[str, Any] = await response.json()
    resource_id: str = created["id"]
    return resource_id


async def _share_class(stack: AuthStack, owner: Session, class_id: str) -> Session:
    """A guardian who accepted a viewer invitation to the class."""
    address, guardian = await new_user(stack, "guardian")
    invitation = {"email": address, "relation": "viewer", "role": "guardian"}
    await _create(stack, owner, f"/v1/classes/{class_id}/invitations", invitation)
    token = (await wait_for_mail(stack, address, "invited you")).token("/invitations/accept")
    body = {"token": token}
    async with stack.http.post(
        "/v1/invitations/accept", json=body, headers=guardian.headers
    ) as response:
        assert response.status == 200, await response.text()
    return guardian


async def _leftovers(stack: AuthStack, owner_id: str, resource_ids: list[str]) -> dict[str, int]:
    """What the stores still hold of the account (read as the database admin)."""
    connection = await asyncpg.connect(stack.database.admin_dsn())
    try:
        return {
            "classes": await connection.fetchval(
                "SELECT count(*) FROM roster.classes WHERE owner_id = $1::uuid", owner_id
            ),
            "students": await connection.fetchval(
                "SELECT count(*) FROM roster.students WHERE owner_id = $1::uuid", owner_id
            ),
            "tuples": await connection.fetchval(
                """
                SELECT count(*) FROM sharing.relation_tuples
                WHERE subject_id = $1::uuid OR resource_id = ANY($2::uuid[])
                """,
                owner_id,
                resource_ids,
            ),
            "grants": await connection.fetchval(
                "SELECT count(*) FROM sharing.grants WHERE resource_id = ANY($1::uuid[])",
                resource_ids,
            ),
            "account": await connection.fetchval(
                "SELECT count(*) FROM auth.accounts WHERE id = $1::uuid", owner_id
            ),
        }
    finally:
        await connection.close()


async def test_deleting_my_account_stops_sign_in_and_purges_what_it_owns(
    stack: AuthStack,
) -> None:
    address, owner = await new_user(stack, "leaving")
    owner_id = owner.account["id"]
    class_id = await _create(stack, owner, "/v1/classes", {"name": "7B"})
    student_id = await _create(
        stack, owner, "/v1/students", {"display_name": "Sam R.", "class_ids": [class_id]}
    )
    guardian = await _share_class(stack, owner, class_id)
    assert await status_of(stack, "GET", f"/v1/students/{student_id}", guardian.headers) == 200
    before = await _leftovers(stack, owner_id, [class_id, student_id])
    assert before["classes"] == before["students"] == before["grants"] == 1
    assert before["tuples"] >= 3  # two owner tuples, the enrollment, the guardian's viewer

    wrong = {"password": "not my password 77"}
    async with stack.http.delete("/v1/me", json=wrong, headers=owner.headers) as response:
        await problem_of(response, 401, "invalid_credentials")
    async with stack.http.delete("/v1/me", json={"password": PASSWORD}, headers=owner.headers) as r:
        assert r.status in (202, 204), await r.text()

    # At once: no sign-in (same answer as an unknown address), the session is dead.
    status, problem = await sign_in_response(stack, address)
    assert (status, problem["code"]) == (401, "invalid_credentials")
    assert await status_of(stack, "GET", "/v1/me", owner.headers) == 401
    await wait_for_mail(stack, address, DELETION_SUBJECT)

    gone = {"classes": 0, "students": 0, "tuples": 0, "grants": 0, "account": 0}
    async with asyncio.timeout(PURGE_LIMIT_SECONDS):
        # The deletion job works in the background and signals nothing a test can await.
        while True:
            if await _leftovers(stack, owner_id, [class_id, student_id]) == gone:
                break
            await asyncio.sleep(0.2)
    # What was shared is gone for the guardian too.
    assert await status_of(stack, "GET", f"/v1/classes/{class_id}", guardian.headers) == 404
    assert await status_of(stack, "GET", f"/v1/students/{student_id}", guardian.headers) == 404
    receipt = await wait_for_mail(stack, address, RECEIPT_SUBJECT)
    assert "1 class(es)" in receipt.body and "1 student record(s)" in receipt.body
    assert_no_mail_holds(stack, PASSWORD)


async def _verified_user(stack: AuthStack, prefix: str) -> tuple[str, Session]:
    """A user who confirmed the address (only such a user sees invitations sent to it)."""
    address, _ = await new_user(stack, prefix)
    token = (await wait_for_mail(stack, address, VERIFY_SUBJECT)).token("/verify")
    async with stack.http.post("/v1/accounts/verify", json={"token": token}) as response:
        assert response.status == 204, await response.text()
    session = await sign_in(stack, address)  # a token that says the address is verified
    assert session.account["email_verified"] is True
    return address, session


async def _items(stack: AuthStack, path: str, session: Session) -> list[dict[str, Any]]:
    async with stack.http.get(path, headers=session.headers) as response:
        assert response.status == 200, await response.text()
        items: list[dict[str, Any]] = (await response.json())["items"]
    return items


async def test_deleting_my_account_ends_what_i_shared_and_the_invitations_i_sent(
    stack: AuthStack,
) -> None:
    _, owner = await new_user(stack, "sharer")
    owner_id = owner.account["id"]
    class_id = await _create(stack, owner, "/v1/classes", {"name": "8C"})
    guardian = await _share_class(stack, owner, class_id)
    invitee_address, invitee = await _verified_user(stack, "invitee")
    invitation = {"email": invitee_address, "relation": "viewer", "role": "advisor"}
    invitation_id = await _create(stack, owner, f"/v1/classes/{class_id}/invitations", invitation)
    token = (await wait_for_mail(stack, invitee_address, "invited you")).token(
        "/invitations/accept"
    )
    shared = await _items(stack, "/v1/shared-with-me", guardian)
    assert [item["resource_id"] for item in shared] == [class_id]
    received = await _items(stack, "/v1/invitations?direction=received", invitee)
    assert [(item["id"], item["status"]) for item in received] == [(invitation_id, "pending")]

    async with stack.http.delete("/v1/me", json={"password": PASSWORD}, headers=owner.headers) as r:
        assert r.status in (202, 204), await r.text()

    async with asyncio.timeout(PURGE_LIMIT_SECONDS):
        # The deletion job works in the background and signals nothing a test can await.
        while True:
            shared = await _items(stack, "/v1/shared-with-me", guardian)
            received = await _items(stack, "/v1/invitations?direction=received", invitee)
            if shared == received == []:
                break
            await asyncio.sleep(0.2)
    # The link in the invitee's mail now names nothing.
    body = {"token": token}
    async with stack.http.post(
        "/v1/invitations/accept", json=body, headers=invitee.headers
    ) as response:
        await problem_of(response, 400, "invalid_token")
    connection = await asyncpg.connect(stack.database.admin_dsn())
    try:
        left = await connection.fetchval(
            """
            SELECT (SELECT count(*) FROM sharing.invitations WHERE inviter_id = $1::uuid)
                 + (SELECT count(*) FROM sharing.grants WHERE resource_id = $2::uuid)
                 + (SELECT count(*) FROM sharing.access_log WHERE resource_id = $2::uuid)
            """,
            owner_id,
            class_id,
        )
    finally:
        await connection.close()
    assert left == 0
