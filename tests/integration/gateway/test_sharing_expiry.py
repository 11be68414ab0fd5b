"""Invitations expire after 14 days and grants at their ``grant_expires_at``, through the gateway.

sharing takes its now from a :class:`WallClock` that the tests move ahead instead of sleeping;
everything else (auth, roster, the gateway, the access tokens) runs on real time. The clock
only moves forward, so each test starts wherever the previous one left it and reads "now" from
the clock, never from the wall.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.clocks import WallClock, rfc3339
from tests.support.http_checks import problem_of
from tests.support.sharing_stack import (
    SharingStack,
    User,
    mailed_token,
    new_email,
    owned_resource,
    sharing_stack,
    signed_up_user,
)
from trackcc.sharing.v1 import sharing_service_pb2 as pb

INVITATION_LIFETIME = dt.timedelta(days=14)


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint,
    pki: DevPki,
    tmp_path_factory: pytest.TempPathFactory,
    clock: WallClock,
) -> AsyncIterator[SharingStack]:
    directory = tmp_path_factory.mktemp("sharing-expiry")
    async with sharing_stack(pg_endpoint, pki, directory, sharing_clock=clock) as running:
        yield running


async def _call(
    stack: SharingStack, method: str, path: str, user: User, body: Any = None
) -> tuple[int, Any]:
    async with stack.gateway.http.request(
        method, path, json=body, headers=user.headers
    ) as response:
        return response.status, await response.json(content_type=None)


async def _ok(stack: SharingStack, method: str, path: str, user: User, body: Any = None) -> Any:
    status, answer = await _call(stack, method, path, user, body)
    assert status in (200, 201), answer
    return answer


def _instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


async def test_an_invitation_expires_fourteen_days_after_it_was_sent(
    stack: SharingStack, clock: WallClock
) -> None:
    owner = await signed_up_user(stack)
    class_id = await owned_resource(stack, owner, pb.RESOURCE_TYPE_CLASS)
    path = f"/v1/classes/{class_id}/invitations"
    early, late = new_email(), new_email()
    sent_at = clock()
    invitations = {
        address: await _ok(
            stack, "POST", path, owner, {"email": address, "relation": "viewer", "role": "guardian"}
        )
        for address in (early, late)
    }
    for invitation in invitations.values():
        expires_at = _instant(invitation["expires_at"])
        assert sent_at + INVITATION_LIFETIME <= expires_at <= clock() + INVITATION_LIFETIME
    tokens = {address: await mailed_token(stack, address) for address in (early, late)}
    guests = {address: await signed_up_user(stack, "guardian", address) for address in tokens}

    # An hour before the end the link still works...
    clock.advance(INVITATION_LIFETIME - dt.timedelta(hours=1))
    grant = await _ok(
        stack, "POST", "/v1/invitations/accept", guests[early], {"token": tokens[early]}
    )
    assert grant["grantee_email"] == early
    # ...and a minute after it, it does not; declining is refused the same way.
    clock.advance(dt.timedelta(hours=1, minutes=1))
    for action in ("accept", "decline"):
        async with stack.gateway.http.post(
            f"/v1/invitations/{action}", json={"token": tokens[late]}, headers=guests[late].headers
        ) as response:
            await problem_of(response, 410, "invitation_expired")

    sent = await _ok(stack, "GET", "/v1/invitations?direction=sent", owner)
    statuses = {item["email"]: item["status"] for item in sent["items"]}
    assert statuses == {early: "accepted", late: "expired"}
    grants = await _ok(stack, "GET", f"/v1/classes/{class_id}/grants", owner)
    assert [item["grantee_email"] for item in grants["items"]] == [early]

    log = await _ok(stack, "GET", f"/v1/classes/{class_id}/access-log", owner)
    expired = [entry for entry in log["items"] if entry["action"] == "expired"]
    assert len(expired) == 1
    assert expired[0]["actor_email"] == late and expired[0]["grant_id"] is None
    assert _instant(expired[0]["at"]) == _instant(invitations[late]["expires_at"])
    # The owner can invite the address again: a new token, fourteen days from now.
    again = await _ok(
        stack, "POST", path, owner, {"email": late, "relation": "viewer", "role": "guardian"}
    )
    assert again["status"] == "pending" and again["id"] != invitations[late]["id"]


async def test_a_grant_ends_at_its_grant_expires_at(stack: SharingStack, clock: WallClock) -> None:
    owner = await signed_up_user(stack)
    class_id = await owned_resource(stack, owner, pb.RESOURCE_TYPE_CLASS)
    student = await _ok(
        stack, "POST", "/v1/students", owner, {"display_name": "Kim", "class_ids": [class_id]}
    )
    ends = rfc3339(clock() + dt.timedelta(days=1))  # the end of term
    invitee = new_email()
    body = {"email": invitee, "relation": "viewer", "role": "guardian", "grant_expires_at": ends}
    await _ok(stack, "POST", f"/v1/classes/{class_id}/invitations", owner, body)
    guest = await signed_up_user(stack, "guardian", invitee)
    token = await mailed_token(stack, invitee)
    grant = await _ok(stack, "POST", "/v1/invitations/accept", guest, {"token": token})
    assert grant["expires_at"] == ends
    [listed] = (await _ok(stack, "GET", f"/v1/classes/{class_id}/grants", owner))["items"]
    assert (listed["id"], listed["expires_at"]) == (grant["id"], ends)

    class_path, student_path = f"/v1/classes/{class_id}", f"/v1/students/{student['id']}"
    clock.advance(dt.timedelta(days=1) - dt.timedelta(minutes=1))
    for path in (class_path, student_path):  # the class grant reaches the enrolled student
        assert (await _call(stack, "GET", path, guest))[0] == 200
    shared = await _ok(stack, "GET", "/v1/shared-with-me", guest)
    assert [item["grant_id"] for item in shared["items"]] == [grant["id"]]

    clock.advance(dt.timedelta(minutes=2))
    for path in (class_path, student_path):
        async with stack.gateway.http.get(path, headers=guest.headers) as response:
            await problem_of(response, 404, "not_found")
    assert (await _ok(stack, "GET", "/v1/shared-with-me", guest))["items"] == []
    assert (await _ok(stack, "GET", f"/v1/classes/{class_id}/grants", owner))["items"] == []
    # The owner still has everything, and the log says when the grant ended.
    assert (await _call(stack, "GET", student_path, owner))[0] == 200
    log = await _ok(stack, "GET", f"/v1/classes/{class_id}/access-log", owner)
    [expired] = [entry for entry in log["items"] if entry["action"] == "expired"]
    assert (expired["grant_id"], expired["actor_email"]) == (grant["id"], invitee)
    assert _instant(expired["at"]) == _instant(ends)
    assert log["items"][0] == expired  # newest first: nothing after the end
