"""Browser sessions: the ``trackcc_refresh`` cookie (docs/api.md, "Web client and browser
sessions"), against real auth and PostgreSQL.

Cookies are read from ``Set-Cookie`` and sent by hand, as a browser would, so that each test
says exactly which cookie a request carried; the client's own jar is emptied after each call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from http.cookies import Morsel, SimpleCookie
from typing import Any

import pytest

from tests.support.auth_stack import (
    PASSWORD,
    PUBLIC_URL,
    AuthStack,
    new_email,
    sign_up,
)
from tests.support.clocks import WallClock

COOKIE = "trackcc_refresh"
NINETY_DAYS = 90 * 86400


pytestmark = pytest.mark.usefixtures("real_time_again")


@pytest.fixture(scope="module")
def stack(clocked_auth_stack: AuthStack) -> AuthStack:
    return clocked_auth_stack


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    cookie: Morsel[str] | None


async def _call(
    stack: AuthStack,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    cookie: str | None = None,
    origin: str | None = PUBLIC_URL,
    token: str | None = None,
) -> Answer:
    headers = {}
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    if origin is not None:
        headers["Origin"] = origin
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        async with stack.http.request(method, path, json=body, headers=headers) as response:
            parsed = SimpleCookie()
            for value in response.headers.getall("Set-Cookie", []):
                parsed.load(value)
            text = await response.text()
            data = await response.json(content_type=None) if text else None
            return Answer(response.status, data, parsed.get(COOKIE))
    finally:
        stack.http.cookie_jar.clear()


async def _browser_sign_in(stack: AuthStack) -> tuple[Answer, str]:
    address = new_email("cookie")
    await sign_up(stack, address)
    answer = await _call(
        stack,
        "POST",
        "/v1/sessions",
        {"email": address, "password": PASSWORD, "refresh_cookie": True},
    )
    assert answer.status == 200, answer.body
    assert answer.cookie is not None
    return answer, answer.cookie.value


async def _refresh(stack: AuthStack, cookie: str, origin: str | None = PUBLIC_URL) -> Answer:
    return await _call(stack, "POST", "/v1/sessions/refresh", {}, cookie=cookie, origin=origin)


def _assert_cleared(answer: Answer) -> None:
    assert answer.cookie is not None and answer.cookie.value == ""
    assert answer.cookie["max-age"] == "0"
    assert answer.cookie["path"] == "/v1/sessions"


async def test_sign_in_with_refresh_cookie_sets_the_cookie_instead_of_the_body(
    stack: AuthStack,
) -> None:
    answer, value = await _browser_sign_in(stack)
    assert "refresh_token" not in answer.body
    assert answer.body["token_type"] == "Bearer" and answer.body["access_token"]
    cookie = answer.cookie
    assert cookie is not None and len(value) >= 22  # at least 128 random bits
    assert cookie["httponly"] is True and cookie["secure"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/v1/sessions"
    # As long as the session may last: 90 days in all.
    assert NINETY_DAYS - 60 <= int(cookie["max-age"]) <= NINETY_DAYS


async def test_sign_in_without_the_flag_sets_no_cookie(stack: AuthStack) -> None:
    address = new_email("mobile")
    await sign_up(stack, address)
    for extra in ({}, {"refresh_cookie": False}):
        body = {"email": address, "password": PASSWORD, **extra}
        answer = await _call(stack, "POST", "/v1/sessions", body)
        assert answer.status == 200 and answer.body["refresh_token"]
        assert answer.cookie is None
    bad = await _call(
        stack, "POST", "/v1/sessions", {"email": address, "password": PASSWORD, "refresh_cookie": 1}
    )
    assert (bad.status, bad.body["code"]) == (422, "validation_failed")


async def test_refresh_with_the_cookie_rotates_it(stack: AuthStack) -> None:
    signed_in, first = await _browser_sign_in(stack)
    refreshed = await _refresh(stack, first)
    assert refreshed.status == 200, refreshed.body
    assert "refresh_token" not in refreshed.body
    assert refreshed.body["session_id"] == signed_in.body["session_id"]
    assert refreshed.cookie is not None and refreshed.cookie.value not in ("", first)
    assert refreshed.cookie["httponly"] is True and refreshed.cookie["samesite"] == "Strict"
    me = await _call(stack, "GET", "/v1/me", token=refreshed.body["access_token"])
    assert me.status == 200 and me.body["email"] == signed_in.body["account"]["email"]
    again = await _refresh(stack, refreshed.cookie.value)
    assert again.status == 200, again.body


async def test_a_reused_cookie_revokes_the_session_and_is_cleared(stack: AuthStack) -> None:
    _, first = await _browser_sign_in(stack)
    second = await _refresh(stack, first)
    assert second.cookie is not None
    third = await _refresh(stack, second.cookie.value)  # the successor was used
    assert third.cookie is not None
    reused = await _refresh(stack, first)
    assert (reused.status, reused.body["code"]) == (401, "invalid_token")
    _assert_cleared(reused)
    # The holder of the newest cookie is signed out too.
    dead = await _refresh(stack, third.cookie.value)
    assert (dead.status, dead.body["code"]) == (401, "invalid_token")


async def test_a_lost_answer_retried_with_the_same_cookie_rotates_again(
    stack: AuthStack, clock: WallClock
) -> None:
    _, first = await _browser_sign_in(stack)
    lost = await _refresh(stack, first)
    assert lost.cookie is not None
    clock.advance(dt.timedelta(seconds=9))
    retried = await _refresh(stack, first)
    assert retried.status == 200, retried.body
    assert retried.cookie is not None and retried.cookie.value not in (first, lost.cookie.value)
    # The successor that died counts as a copy when it comes back later.
    late = await _refresh(stack, lost.cookie.value)
    assert (late.status, late.body["code"]) == (401, "invalid_token")
    after = await _refresh(stack, retried.cookie.value)
    assert (after.status, after.body["code"]) == (401, "invalid_token")


async def test_a_retry_after_ten_seconds_revokes_the_session(
    stack: AuthStack, clock: WallClock
) -> None:
    _, first = await _browser_sign_in(stack)
    second = await _refresh(stack, first)
    assert second.cookie is not None
    clock.advance(dt.timedelta(seconds=11))
    late = await _refresh(stack, first)
    assert (late.status, late.body["code"]) == (401, "invalid_token")
    after = await _refresh(stack, second.cookie.value)
    assert (after.status, after.body["code"]) == (401, "invalid_token")


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://trackcc.test:444", "http://trackcc.test", None]
)
async def test_a_cookie_refresh_from_another_origin_is_403_and_spends_nothing(
    stack: AuthStack, origin: str | None
) -> None:
    _, first = await _browser_sign_in(stack)
    refused = await _refresh(stack, first, origin=origin)
    assert (refused.status, refused.body["code"]) == (403, "bad_origin")
    assert refused.body["detail"]
    assert refused.cookie is None
    assert (await _refresh(stack, first)).status == 200


async def test_an_empty_refresh_without_a_cookie_is_401(stack: AuthStack) -> None:
    answer = await _call(stack, "POST", "/v1/sessions/refresh", {})
    assert (answer.status, answer.body["code"]) == (401, "invalid_token")


@pytest.mark.parametrize("path", ["/v1/sessions/current", "/v1/sessions"])
async def test_sign_out_clears_the_cookie_and_ends_the_session(stack: AuthStack, path: str) -> None:
    signed_in, cookie = await _browser_sign_in(stack)
    answer = await _call(stack, "DELETE", path, token=signed_in.body["access_token"])
    assert answer.status == 204
    _assert_cleared(answer)
    stale = await _refresh(stack, cookie)
    assert (stale.status, stale.body["code"]) == (401, "invalid_token")
