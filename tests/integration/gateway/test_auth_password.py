"""Forgot, reset and change password through the gateway, with the mails they send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    CACHE_SECONDS,
    CHANGED_SUBJECT,
    NEW_PASSWORD,
    PASSWORD,
    PUBLIC_URL,
    RESET_NOTICE_SUBJECT,
    RESET_SUBJECT,
    AuthStack,
    assert_no_mail_holds,
    auth_stack,
    mails_to,
    new_email,
    new_user,
    sign_in,
    sign_in_response,
    status_of,
    wait_for_mail,
)
from tests.support.http_checks import problem_of


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    async with auth_stack(pg_endpoint, pki, tmp_path_factory.mktemp("auth-password")) as running:
        yield running


async def _forgot(stack: AuthStack, address: str, host: str | None = None) -> tuple[int, bytes]:
    headers = {"Host": host} if host else {}
    body = {"email": address}
    async with stack.http.post("/v1/password/forgot", json=body, headers=headers) as response:
        return response.status, await response.read()


async def _reset(stack: AuthStack, token: str, new_password: str) -> Any:
    body = {"token": token, "new_password": new_password}
    async with stack.http.post("/v1/password/reset", json=body) as response:
        return response.status, await response.json(
            content_type=None
        ) if response.status != 204 else None


async def test_forgot_answers_the_same_for_unknown_addresses(stack: AuthStack) -> None:
    address, _ = await new_user(stack, "forgot")
    known = await _forgot(stack, address)
    unknown = await _forgot(stack, new_email("nobody"))
    assert known == unknown == (202, b"")


async def test_the_reset_link_comes_from_the_public_url_not_the_host_header(
    stack: AuthStack,
) -> None:
    address, _ = await new_user(stack, "host")
    assert await _forgot(stack, address, host="evil.example:8443") == (202, b"")
    mail = await wait_for_mail(stack, address, RESET_SUBJECT)
    mail.token("/reset")  # a {PUBLIC_URL}/reset?token= link
    assert "evil.example" not in mail.body
    assert all(line.startswith(PUBLIC_URL) for line in mail.body.split() if "://" in line)


async def test_reset_sets_the_password_ends_every_session_and_sends_a_notice(
    stack: AuthStack,
) -> None:
    address, first = await new_user(stack, "reset")
    second = await sign_in(stack, address)
    for session in (first, second):
        assert await status_of(stack, "GET", "/v1/me", session.headers) == 200
    await _forgot(stack, address)
    token = (await wait_for_mail(stack, address, RESET_SUBJECT)).token("/reset")

    # A weak choice is refused before the token is spent, naming the body's field.
    status, problem = await _reset(stack, token, "password123")
    assert (status, problem["code"]) == (422, "weak_password")
    assert isinstance(problem["score"], int)
    assert [error["field"] for error in problem["errors"]] == ["new_password"]

    assert await _reset(stack, token, NEW_PASSWORD) == (204, None)
    status, problem = await _reset(stack, token, NEW_PASSWORD + " again")
    assert (status, problem["code"]) == (400, "invalid_token")

    status, problem = await sign_in_response(stack, address, PASSWORD)
    assert (status, problem["code"]) == (401, "invalid_credentials")
    await sign_in(stack, address, NEW_PASSWORD)
    # Every earlier session ended: refresh at once, access tokens within the cache window.
    for session in (first, second):
        body = {"refresh_token": session.tokens["refresh_token"]}
        async with stack.http.post("/v1/sessions/refresh", json=body) as response:
            await problem_of(response, 401, "invalid_token")
    stack.clock.advance(CACHE_SECONDS + 1)
    for session in (first, second):
        assert await status_of(stack, "GET", "/v1/me", session.headers) == 401

    notice = await wait_for_mail(stack, address, RESET_NOTICE_SUBJECT)
    assert "reset" in notice.body
    assert_no_mail_holds(stack, PASSWORD, NEW_PASSWORD)


async def test_a_fourth_forgot_within_an_hour_sends_no_mail(stack: AuthStack) -> None:
    address, session = await new_user(stack, "throttle")
    for _ in range(4):
        assert await _forgot(stack, address) == (202, b"")
    # A later mail to the same address; the outbox sends in order, so once it is here,
    # every reset mail that was going to be sent is here too.
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    async with stack.http.post("/v1/me/password", json=body, headers=session.headers) as r:
        assert r.status == 204
    await wait_for_mail(stack, address, CHANGED_SUBJECT)
    assert len(mails_to(stack, address, RESET_SUBJECT)) == 3


async def test_change_password_keeps_this_session_and_ends_the_others(stack: AuthStack) -> None:
    address, current = await new_user(stack, "change")
    other = await sign_in(stack, address, user_agent="other-device/1")
    assert await status_of(stack, "GET", "/v1/me", other.headers) == 200
    path, headers = "/v1/me/password", current.headers

    wrong = {"current_password": "not the current one 9", "new_password": NEW_PASSWORD}
    async with stack.http.post(path, json=wrong, headers=headers) as response:
        await problem_of(response, 401, "invalid_credentials")
    weak = {"current_password": PASSWORD, "new_password": "password123"}
    async with stack.http.post(path, json=weak, headers=headers) as response:
        problem = await problem_of(response, 422, "weak_password")
    assert [error["field"] for error in problem["errors"]] == ["new_password"]

    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    async with stack.http.post(path, json=body, headers=headers) as response:
        assert response.status == 204, await response.text()
    assert await status_of(stack, "GET", "/v1/me", current.headers) == 200
    # This gateway forgets the user's cached sessions, so the other one stops at once.
    assert await status_of(stack, "GET", "/v1/me", other.headers) == 401
    status, _ = await sign_in_response(stack, address, PASSWORD)
    assert status == 401
    await sign_in(stack, address, NEW_PASSWORD)
    notice = await wait_for_mail(stack, address, CHANGED_SUBJECT)
    assert PASSWORD not in notice.body and NEW_PASSWORD not in notice.body
