"""Sessions through the gateway: sign in and out, the session list, ending sessions, and
refresh-token rotation with reuse detection, against real auth and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    CACHE_SECONDS,
    AuthStack,
    Session,
    auth_stack,
    new_user,
    sign_in,
    status_of,
)
from tests.support.http_checks import problem_of


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    async with auth_stack(pg_endpoint, pki, tmp_path_factory.mktemp("auth-sessions")) as running:
        yield running


async def _me(stack: AuthStack, session: Session) -> int:
    return await status_of(stack, "GET", "/v1/me", session.headers)


async def _refresh(stack: AuthStack, refresh_token: str, user_agent: str = "tests/1") -> Any:
    body = {"refresh_token": refresh_token}
    headers = {"User-Agent": user_agent}
    async with stack.http.post("/v1/sessions/refresh", json=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def _sessions(stack: AuthStack, session: Session) -> list[dict[str, Any]]:
    async with stack.http.get("/v1/sessions", headers=session.headers) as response:
        assert response.status == 200, await response.text()
        page = await response.json()
    assert page["next_page_token"] == ""
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_session_list_shows_each_sign_in_with_its_user_agent(stack: AuthStack) -> None:
    address, laptop = await new_user(stack, "list")
    phone = await sign_in(stack, address, user_agent="TrackCC-iOS/3.1")
    items = await _sessions(stack, laptop)
    assert all(
        set(item) == {"id", "created_at", "last_used_at", "user_agent", "current"} for item in items
    )
    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {laptop.id, phone.id}
    assert by_id[laptop.id]["current"] is True and by_id[phone.id]["current"] is False
    assert by_id[phone.id]["user_agent"] == "TrackCC-iOS/3.1"
    assert by_id[laptop.id]["user_agent"] == "tests/1"
    assert all(item["created_at"].endswith("Z") for item in items)
    assert all(item["last_used_at"].endswith("Z") for item in items)


async def test_sign_out_ends_only_that_session_at_once(stack: AuthStack) -> None:
    address, first = await new_user(stack, "signout")
    second = await sign_in(stack, address)
    assert await _me(stack, first) == 200  # cached as active in the gateway
    assert await status_of(stack, "DELETE", "/v1/sessions/current", first.headers) == 204
    async with stack.http.get("/v1/me", headers=first.headers) as response:
        await problem_of(response, 401, "invalid_token")
    status, _ = await _refresh(stack, first.tokens["refresh_token"])
    assert status == 401
    assert await _me(stack, second) == 200
    assert [item["id"] for item in await _sessions(stack, second)] == [second.id]


async def test_ending_a_session_by_id_works_only_for_my_own(stack: AuthStack) -> None:
    address, mine = await new_user(stack, "byid")
    other_device = await sign_in(stack, address)
    _, stranger = await new_user(stack, "stranger")
    # Another user's session id, or no session at all: not found, never forbidden.
    for session_id in (stranger.id, str(uuid.uuid4()), "not-a-uuid"):
        path = f"/v1/sessions/{session_id}"
        async with stack.http.delete(path, headers=mine.headers) as response:
            await problem_of(response, 404, "not_found")
    assert await _me(stack, stranger) == 200
    assert await _me(stack, other_device) == 200
    path = f"/v1/sessions/{other_device.id}"
    assert await status_of(stack, "DELETE", path, mine.headers) == 204
    assert await _me(stack, other_device) == 401
    assert await _me(stack, mine) == 200


async def test_sign_out_everywhere_ends_every_session_at_once(stack: AuthStack) -> None:
    address, first = await new_user(stack, "everywhere")
    others = [await sign_in(stack, address) for _ in range(2)]
    for session in (first, *others):
        assert await _me(stack, session) == 200
    assert await status_of(stack, "DELETE", "/v1/sessions", first.headers) == 204
    for session in (first, *others):
        assert await _me(stack, session) == 401
        status, body = await _refresh(stack, session.tokens["refresh_token"])
        assert (status, body["code"]) == (401, "invalid_token")


async def test_refresh_rotates_and_a_reused_token_revokes_the_whole_session(
    stack: AuthStack,
) -> None:
    address, signed_in = await new_user(stack, "refresh")
    status, rotated = await _refresh(stack, signed_in.tokens["refresh_token"], "TrackCC-Android/2")
    assert status == 200, rotated
    assert rotated["session_id"] == signed_in.id
    assert rotated["refresh_token"] != signed_in.tokens["refresh_token"]
    assert rotated["token_type"] == "Bearer" and rotated["account"]["email"] == address
    current = Session(rotated)
    assert await _me(stack, current) == 200
    [listed] = await _sessions(stack, current)
    assert listed["user_agent"] == "TrackCC-Android/2"  # the refresh passed its User-Agent

    status, newest = await _refresh(stack, rotated["refresh_token"])
    assert status == 200, newest

    # The spent token again after its successor was used: not a lost answer's retry but a
    # copy. The whole session ends, thief or not.
    status, problem = await _refresh(stack, signed_in.tokens["refresh_token"])
    assert (status, problem["code"]) == (401, "invalid_token")
    status, problem = await _refresh(stack, newest["refresh_token"])
    assert (status, problem["code"]) == (401, "invalid_token")
    # The gateway learns of it when its cached answer ages out, within 60 s at most.
    stack.clock.advance(CACHE_SECONDS + 1)
    async with stack.http.get("/v1/me", headers=current.headers) as response:
        await problem_of(response, 401, "invalid_token")


async def test_refresh_with_a_garbage_token_is_401(stack: AuthStack) -> None:
    status, problem = await _refresh(stack, "x" * 43)
    assert (status, problem["code"]) == (401, "invalid_token")
