"""Support through the gateway: the lockout notice's unlock-request link, support's queue and
locked list, unlocking with a reason, and the refusal of everyone else."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    LOCKED_SUBJECT,
    PASSWORD,
    AuthStack,
    Session,
    auth_stack,
    new_user,
    sign_in_response,
    support_session,
    wait_for_mail,
)
from tests.support.http_checks import problem_of


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    async with auth_stack(pg_endpoint, pki, tmp_path_factory.mktemp("auth-support")) as running:
        yield running


@pytest.fixture(scope="module")
async def support(stack: AuthStack) -> Session:
    return await support_session(stack)


async def _lock(stack: AuthStack, address: str) -> None:
    await asyncio.gather(
        *(sign_in_response(stack, address, "wrong wrong wrong 1") for _ in range(10))
    )
    status, body = await sign_in_response(stack, address)
    assert (status, body["code"]) == (423, "account_locked")


async def _items(stack: AuthStack, path: str, session: Session) -> list[dict[str, Any]]:
    async with stack.http.get(path, headers=session.headers) as response:
        assert response.status == 200, await response.text()
        page = await response.json()
    items: list[dict[str, Any]] = page["items"]
    return items


async def _unlock_request(stack: AuthStack, token: str) -> Any:
    async with stack.http.post("/v1/unlock-requests", json={"token": token}) as response:
        return response.status, await response.read()


async def test_the_notice_link_asks_support_who_unlocks(stack: AuthStack, support: Session) -> None:
    address, owner = await new_user(stack, "locked")
    account_id = owner.account["id"]
    await _lock(stack, address)
    notice = await wait_for_mail(stack, address, LOCKED_SUBJECT)
    assert PASSWORD not in notice.body
    token = notice.token("/unlock-request")

    # Following the link (no sign-in) records the request; it works once.
    assert await _unlock_request(stack, token) == (202, b"")
    async with stack.http.post("/v1/unlock-requests", json={"token": token}) as response:
        await problem_of(response, 400, "invalid_token")

    requests = await _items(stack, "/v1/admin/unlock-requests", support)
    [mine] = [item for item in requests if item["account_id"] == account_id]
    assert set(mine) == {"id", "account_id", "email", "requested_at"}
    assert mine["email"] == address and mine["requested_at"].endswith("Z")
    locked = await _items(stack, "/v1/admin/accounts?locked=true", support)
    assert account_id in {item["id"] for item in locked}

    path = f"/v1/admin/accounts/{account_id}/unlock"
    body = {"reason": "owner asked from the account address"}
    async with stack.http.post(path, json=body, headers=support.headers) as response:
        assert response.status == 204, await response.text()
    status, tokens = await sign_in_response(stack, address)
    assert status == 200, tokens
    locked = await _items(stack, "/v1/admin/accounts?locked=true", support)
    assert account_id not in {item["id"] for item in locked}
    # The unlock closes the owner's open request.
    requests = await _items(stack, "/v1/admin/unlock-requests", support)
    assert account_id not in {item["account_id"] for item in requests}


async def test_a_forged_unlock_token_is_400(stack: AuthStack) -> None:
    async with stack.http.post("/v1/unlock-requests", json={"token": "A" * 43}) as response:
        await problem_of(response, 400, "invalid_token")


async def test_support_routes_refuse_everyone_else(stack: AuthStack, support: Session) -> None:
    _, user = await new_user(stack, "nosy")
    unlock = f"/v1/admin/accounts/{user.account['id']}/unlock"
    for method, path, body in (
        ("GET", "/v1/admin/accounts?locked=true", None),
        ("GET", "/v1/admin/unlock-requests", None),
        ("POST", unlock, {"reason": "I would like to"}),
    ):
        async with stack.http.request(method, path, json=body, headers=user.headers) as response:
            await problem_of(response, 403, "forbidden")
        async with stack.http.request(method, path, json=body) as response:
            await problem_of(response, 401, "unauthenticated")


async def test_unlocking_nothing_is_404_and_a_reason_is_required(
    stack: AuthStack, support: Session
) -> None:
    for account_id in (str(uuid.uuid4()), "not-a-uuid"):
        path = f"/v1/admin/accounts/{account_id}/unlock"
        async with stack.http.post(path, json={"reason": "x"}, headers=support.headers) as r:
            await problem_of(r, 404, "not_found")
    path = f"/v1/admin/accounts/{support.account['id']}/unlock"
    async with stack.http.post(path, json={}, headers=support.headers) as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert problem["errors"][0]["field"] == "reason"


async def test_support_accounts_cannot_be_made_through_the_api(stack: AuthStack) -> None:
    body = {"email": "staff@example.org", "password": PASSWORD, "role": "support"}
    async with stack.http.post("/v1/accounts", json=body) as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert problem["errors"][0]["field"] == "role"
