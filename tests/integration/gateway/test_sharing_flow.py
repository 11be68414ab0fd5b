"""Invitations and grants end to end: gateway, real auth and sharing, PostgreSQL, SMTP sink."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.http_checks import problem_of
from tests.support.sharing_stack import (
    SharingStack,
    User,
    mailed_token,
    new_email,
    owned_resource,
    sharing_stack,
    signed_in_user,
    signed_up_user,
)
from trackcc.sharing.v1 import sharing_service_pb2 as pb


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SharingStack]:
    directory = tmp_path_factory.mktemp("sharing-flow")
    async with sharing_stack(pg_endpoint, pki, directory) as running:
        yield running


async def _invite(
    stack: SharingStack, owner: User, path: str, invitee: str, **extra: Any
) -> dict[str, Any]:
    body = {"email": invitee, "relation": "viewer", "role": "guardian", **extra}
    async with stack.gateway.http.post(path, json=body, headers=owner.headers) as response:
        assert response.status == 201, await response.text()
        invitation: dict[str, Any] = await response.json()
    return invitation


async def _json(stack: SharingStack, path: str, user: User, status: int = 200) -> Any:
    async with stack.gateway.http.get(path, headers=user.headers) as response:
        assert response.status == status, await response.text()
        return await response.json(content_type=None)


async def test_invite_accept_list_log_and_revoke(stack: SharingStack) -> None:
    owner = await signed_up_user(stack)
    class_id = await owned_resource(stack, owner, pb.RESOURCE_TYPE_CLASS)
    guest_email = new_email()
    ends = "2099-06-30T16:00:00Z"
    path = f"/v1/classes/{class_id}/invitations"
    body = {"email": guest_email, "relation": "viewer", "role": "guardian", "message": "Hello"}
    body["grant_expires_at"] = ends
    headers = owner.headers | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    async with stack.gateway.http.post(path, json=body, headers=headers) as response:
        assert response.status == 201, await response.text()
        invitation = await response.json()
    assert set(invitation) == {
        "id",
        "resource_type",
        "resource_id",
        "email",
        "relation",
        "role",
        "status",
        "created_at",
        "expires_at",
        "grant_expires_at",
    }
    assert invitation["resource_type"] == "class"
    assert invitation["resource_id"] == class_id
    assert (invitation["email"], invitation["relation"], invitation["role"]) == (
        guest_email,
        "viewer",
        "guardian",
    )
    assert invitation["status"] == "pending"
    assert invitation["grant_expires_at"] == ends
    assert invitation["created_at"].endswith("Z") and invitation["expires_at"].endswith("Z")

    # A retry with the same Idempotency-Key gets the first answer, not a second invitation.
    async with stack.gateway.http.post(path, json=body, headers=headers) as response:
        assert response.status == 201
        assert (await response.json())["id"] == invitation["id"]

    sent = await _json(stack, "/v1/invitations?direction=sent", owner)
    assert [item["id"] for item in sent["items"]] == [invitation["id"]]
    assert sent["next_page_token"] == ""

    token = await mailed_token(stack, guest_email)
    guest = await signed_up_user(stack, "guardian", guest_email)
    async with stack.gateway.http.post(
        "/v1/invitations/accept", json={"token": token}, headers=guest.headers
    ) as response:
        assert response.status == 200, await response.text()
        grant = await response.json()
    assert set(grant) == {
        "id",
        "grantee_id",
        "grantee_email",
        "relation",
        "role",
        "created_at",
        "expires_at",
    }
    assert (grant["grantee_id"], grant["grantee_email"]) == (guest.id, guest_email)
    assert (grant["relation"], grant["role"], grant["expires_at"]) == ("viewer", "guardian", ends)

    grants = await _json(stack, f"/v1/classes/{class_id}/grants", owner)
    assert [item["id"] for item in grants["items"]] == [grant["id"]]
    await _json(stack, f"/v1/classes/{class_id}/grants", guest, 404)  # owner only

    shared = await _json(stack, "/v1/shared-with-me", guest)
    assert shared["items"] == [
        {
            "resource_type": "class",
            "resource_id": class_id,
            "relation": "viewer",
            "owner_id": owner.id,
            "owner_display_name": "Ms. K",
            "grant_id": grant["id"],
        }
    ]

    log = await _json(stack, f"/v1/classes/{class_id}/access-log", owner)
    assert [entry["action"] for entry in log["items"]] == ["accepted", "invited"]
    accepted = log["items"][0]
    assert (accepted["actor_id"], accepted["actor_email"]) == (guest.id, guest_email)
    assert accepted["grant_id"] == grant["id"]
    assert log["items"][1]["grant_id"] is None
    await _json(stack, f"/v1/classes/{class_id}/access-log", guest, 404)

    async with stack.gateway.http.delete(
        f"/v1/grants/{grant['id']}", headers=owner.headers
    ) as response:
        assert response.status == 204
    # The next request of the former grantee finds nothing.
    assert (await _json(stack, "/v1/shared-with-me", guest))["items"] == []
    async with stack.gateway.http.delete(
        f"/v1/grants/{grant['id']}", headers=guest.headers
    ) as response:
        await problem_of(response, 404, "not_found")
    log = await _json(stack, f"/v1/classes/{class_id}/access-log", owner)
    assert log["items"][0]["action"] == "revoked"


async def test_accept_refusals_map_to_the_contract(stack: SharingStack) -> None:
    owner = await signed_up_user(stack)
    student_id = await owned_resource(stack, owner, pb.RESOURCE_TYPE_STUDENT)
    invitee = new_email()
    invitation = await _invite(stack, owner, f"/v1/students/{student_id}/invitations", invitee)
    assert invitation["resource_type"] == "student"
    token = await mailed_token(stack, invitee)
    http = stack.gateway.http

    stranger = await signed_up_user(stack, "guardian")
    async with http.post(
        "/v1/invitations/accept", json={"token": token}, headers=stranger.headers
    ) as response:
        await problem_of(response, 403, "email_mismatch")
    async with http.post(
        "/v1/invitations/accept", json={"token": "no-such-token"}, headers=stranger.headers
    ) as response:
        await problem_of(response, 400, "invalid_token")

    guest = await signed_up_user(stack, "guardian", invitee)
    async with http.post(
        "/v1/invitations/decline", json={"token": token}, headers=guest.headers
    ) as response:
        assert response.status == 204, await response.text()
    async with http.post(
        "/v1/invitations/accept", json={"token": token}, headers=guest.headers
    ) as response:
        await problem_of(response, 410, "invitation_used")


async def test_resend_revoke_and_already_shared(stack: SharingStack) -> None:
    owner = await signed_up_user(stack)
    class_id = await owned_resource(stack, owner, pb.RESOURCE_TYPE_CLASS)
    path = f"/v1/classes/{class_id}/invitations"
    invitee = new_email()
    invitation = await _invite(stack, owner, path, invitee, relation="editor", role="teacher")
    first_token = await mailed_token(stack, invitee)
    http = stack.gateway.http

    async with http.post(
        f"/v1/invitations/{invitation['id']}/resend", headers=owner.headers
    ) as response:
        assert response.status == 202, await response.text()
    second_token = await mailed_token(stack, invitee, skip=1)
    assert second_token != first_token

    async with http.delete(f"/v1/invitations/{invitation['id']}", headers=owner.headers) as r:
        assert r.status == 204, await r.text()
    guest = await signed_up_user(stack, "teacher", invitee)
    async with http.post(
        "/v1/invitations/accept", json={"token": second_token}, headers=guest.headers
    ) as response:
        await problem_of(response, 410, "invitation_revoked")
    async with http.post(
        "/v1/invitations/accept", json={"token": first_token}, headers=guest.headers
    ) as response:
        await problem_of(response, 400, "invalid_token")  # resend killed it

    # Inviting yourself: you have access already.
    body = {"email": owner.email, "relation": "viewer", "role": "teacher"}
    async with http.post(path, json=body, headers=owner.headers) as response:
        await problem_of(response, 409, "already_shared")
    # Someone who cannot see the class learns nothing about it.
    async with http.post(path, json=body, headers=guest.headers) as response:
        await problem_of(response, 404, "not_found")
    received = await _json(stack, "/v1/invitations?direction=received", guest)
    assert received == {"items": [], "next_page_token": ""}  # the address is not verified


async def _accept_status(stack: SharingStack, token: str, user: User) -> tuple[int, Any]:
    async with stack.gateway.http.post(
        "/v1/invitations/accept", json={"token": token}, headers=user.headers
    ) as response:
        return response.status, await response.json(content_type=None)


async def test_two_concurrent_accepts_of_one_token_make_exactly_one_grant(
    stack: SharingStack,
) -> None:
    owner = await signed_up_user(stack)
    invitee = new_email()
    guest = await signed_up_user(stack, "guardian", invitee)
    # The same session twice (a double tap), then two sessions of the invitee (two devices).
    other_device = await signed_in_user(stack, invitee)
    for mailed, (first, second) in enumerate(((guest, guest), (guest, other_device))):
        class_id = await owned_resource(stack, owner, pb.RESOURCE_TYPE_CLASS)
        invitation = await _invite(stack, owner, f"/v1/classes/{class_id}/invitations", invitee)
        token = await mailed_token(stack, invitee, skip=mailed)
        answers = await asyncio.gather(
            _accept_status(stack, token, first), _accept_status(stack, token, second)
        )
        assert sorted(status for status, _ in answers) == [200, 410], answers
        [grant] = [body for status, body in answers if status == 200]
        [problem] = [body for status, body in answers if status == 410]
        assert problem["code"] == "invitation_used"
        assert grant["grantee_id"] == guest.id
        grants = await _json(stack, f"/v1/classes/{class_id}/grants", owner)
        assert [item["id"] for item in grants["items"]] == [grant["id"]]
        sent = await _json(stack, "/v1/invitations?direction=sent", owner)
        [listed] = [item for item in sent["items"] if item["id"] == invitation["id"]]
        assert listed["status"] == "accepted"
