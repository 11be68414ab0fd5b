"""Expiry of auth's tokens and sessions through the gateway, with auth's clock moved ahead.

auth takes its now from a :class:`WallClock`; the gateway and the access-token verifiers run
on real time, so the access token a user got at sign-in still has a good signature days later
(in auth's time) and only the session behind it can be dead. Tokens auth issues while its clock
is ahead would not be valid yet in real time, so each test signs in before it moves the clock,
and the clock goes back to real time after each test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.support.auth_stack import (
    CACHE_SECONDS,
    LOCKED_SUBJECT,
    NEW_PASSWORD,
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    AuthStack,
    Session,
    new_user,
    sign_in_response,
    status_of,
    wait_for_mail,
)
from tests.support.clocks import WallClock
from tests.support.http_checks import problem_of

MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)


pytestmark = pytest.mark.usefixtures("real_time_again")


@pytest.fixture(scope="module")
def stack(clocked_auth_stack: AuthStack) -> AuthStack:
    return clocked_auth_stack


async def _post(stack: AuthStack, path: str, body: dict[str, str]) -> tuple[int, Any]:
    async with stack.http.post(path, json=body) as response:
        return response.status, await response.json(content_type=None)


async def _refused(stack: AuthStack, path: str, body: dict[str, str], status: int) -> None:
    async with stack.http.post(path, json=body) as response:
        await problem_of(response, status, "invalid_token")


async def test_a_reset_link_works_for_one_hour(stack: AuthStack, clock: WallClock) -> None:
    address, _ = await new_user(stack, "reset-late")
    assert (await _post(stack, "/v1/password/forgot", {"email": address}))[0] == 202
    token = (await wait_for_mail(stack, address, RESET_SUBJECT)).token("/reset")
    body = {"token": token, "new_password": NEW_PASSWORD}
    clock.advance(dt.timedelta(hours=1) + MINUTE)
    await _refused(stack, "/v1/password/reset", body, 400)
    status, _ = await sign_in_response(stack, address, NEW_PASSWORD)
    assert status == 401  # the password did not change
    # The same link a minute before its end: it was the hour, not the token.
    clock.advance(-2 * MINUTE)
    assert await _post(stack, "/v1/password/reset", body) == (204, None)


async def test_a_verification_link_works_for_seven_days(stack: AuthStack, clock: WallClock) -> None:
    address, session = await new_user(stack, "verify-late")
    token = (await wait_for_mail(stack, address, VERIFY_SUBJECT)).token("/verify")
    clock.advance(7 * DAY + MINUTE)
    await _refused(stack, "/v1/accounts/verify", {"token": token}, 400)
    clock.reset()
    async with stack.http.get("/v1/me", headers=session.headers) as response:
        assert (await response.json())["email_verified"] is False
    clock.advance(7 * DAY - MINUTE)
    assert await _post(stack, "/v1/accounts/verify", {"token": token}) == (204, None)


async def test_an_unlock_request_link_works_for_seven_days(
    stack: AuthStack, clock: WallClock
) -> None:
    address, _ = await new_user(stack, "unlock-late")
    for _ in range(10):
        await sign_in_response(stack, address, "wrong wrong wrong 1")
    token = (await wait_for_mail(stack, address, LOCKED_SUBJECT)).token("/unlock-request")
    clock.advance(7 * DAY + MINUTE)
    await _refused(stack, "/v1/unlock-requests", {"token": token}, 400)
    clock.advance(-2 * MINUTE)
    assert await _post(stack, "/v1/unlock-requests", {"token": token}) == (202, None)


async def _refresh(stack: AuthStack, refresh_token: str) -> tuple[int, Any]:
    return await _post(stack, "/v1/sessions/refresh", {"refresh_token": refresh_token})


async def _me_after_cache(stack: AuthStack, session: Session) -> int:
    """GET /v1/me once the gateway's cached answer for the session has aged out."""
    stack.clock.advance(CACHE_SECONDS + 1)
    return await status_of(stack, "GET", "/v1/me", session.headers)


async def test_a_session_unused_for_thirty_days_ends(stack: AuthStack, clock: WallClock) -> None:
    _, session = await new_user(stack, "idle")
    clock.advance(29 * DAY)
    status, refreshed = await _refresh(stack, session.tokens["refresh_token"])
    assert status == 200, refreshed
    assert await _me_after_cache(stack, session) == 200

    clock.advance(30 * DAY + MINUTE)  # thirty days after that refresh
    status, problem = await _refresh(stack, refreshed["refresh_token"])
    assert (status, problem["code"]) == (401, "invalid_token")
    # The access token from sign-in still has a good signature; its session is over.
    stack.clock.advance(CACHE_SECONDS + 1)
    async with stack.http.get("/v1/me", headers=session.headers) as response:
        await problem_of(response, 401, "invalid_token")


async def test_a_session_in_use_ends_ninety_days_after_sign_in(
    stack: AuthStack, clock: WallClock
) -> None:
    _, session = await new_user(stack, "ninety")
    refresh_token = session.tokens["refresh_token"]
    for _ in range(3):  # used every 29 days: never idle
        clock.advance(29 * DAY)
        status, refreshed = await _refresh(stack, refresh_token)
        assert status == 200, refreshed
        assert refreshed["session_id"] == session.id
        refresh_token = refreshed["refresh_token"]
    assert await _me_after_cache(stack, session) == 200  # day 87: still signed in

    clock.advance(3 * DAY + MINUTE)  # day 90 and a minute, used three days ago
    status, problem = await _refresh(stack, refresh_token)
    assert (status, problem["code"]) == (401, "invalid_token")
    assert await _me_after_cache(stack, session) == 401
