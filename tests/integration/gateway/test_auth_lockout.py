"""The lockout rule through the gateway: 50 parallel wrong passwords lock at exactly ten, unknown
emails lock the same way, a success resets the count, a reset does not unlock, and the locked
answers of the password-checking routes."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    LOCKED_SUBJECT,
    NEW_PASSWORD,
    PASSWORD,
    RESET_NOTICE_SUBJECT,
    RESET_SUBJECT,
    AuthStack,
    Session,
    auth_stack,
    mails_to,
    new_email,
    new_user,
    sign_in_response,
    support_session,
    wait_for_mail,
)
from tests.support.http_checks import problem_of

WRONG = "not my password at all 3"


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    # gateway_env sets TRACKCC_RATE_LIMIT_PER_MINUTE high: the lockout rule, not the per-client
    # limit, must be what stops these attempts. Fifty attempts queue for two hashing threads,
    # which on a loaded test machine can outlast the default 5 s call deadline.
    extra = {
        "TRACKCC_RATE_LIMIT_PER_MINUTE": "100000",
        "TRACKCC_GATEWAY_GRPC_TIMEOUT_SECONDS": "60",
    }
    directory = tmp_path_factory.mktemp("auth-lockout")
    async with auth_stack(pg_endpoint, pki, directory, extra) as running:
        yield running


@pytest.fixture(scope="module")
async def support(stack: AuthStack) -> Session:
    return await support_session(stack)


async def _attempts(stack: AuthStack, address: str, count: int) -> Counter[int]:
    answers = await asyncio.gather(*(sign_in_response(stack, address, WRONG) for _ in range(count)))
    return Counter(status for status, _ in answers)


async def _locked_detail(stack: AuthStack, address: str, password: str = PASSWORD) -> str:
    async with stack.http.post(
        "/v1/sessions", json={"email": address, "password": password}
    ) as response:
        problem = await problem_of(response, 423, "account_locked")
    detail: str = problem["detail"]
    return detail


async def _admin_account(stack: AuthStack, support: Session, account_id: str) -> Any:
    async with stack.http.get(
        "/v1/admin/accounts?locked=true&page_size=200", headers=support.headers
    ) as response:
        assert response.status == 200, await response.text()
        items = (await response.json())["items"]
    return next((item for item in items if item["id"] == account_id), None)


async def test_fifty_parallel_wrong_passwords_lock_at_exactly_ten(
    stack: AuthStack, support: Session
) -> None:
    address, session = await new_user(stack, "parallel")
    statuses = await _attempts(stack, address, 50)
    # Ten failed sign-ins (the tenth locks, and still answers 401), and every later one
    # finds the account locked.
    assert statuses == Counter({401: 10, 423: 40})
    listed = await _admin_account(stack, support, session.account["id"])
    assert listed is not None
    assert set(listed) == {"id", "email", "locked_at", "failed_attempts"}
    assert listed["failed_attempts"] == 10 and listed["locked_at"].endswith("Z")

    # The right password no longer helps; the detail says how to reach support.
    detail = await _locked_detail(stack, address)
    assert "support" in detail and "email address" in detail

    # Every other password check of the still signed-in session answers the same.
    for method, path, body in (
        ("POST", "/v1/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ("POST", "/v1/me/email", {"new_email": new_email(), "password": PASSWORD}),
        ("DELETE", "/v1/me", {"password": PASSWORD}),
    ):
        async with stack.http.request(method, path, json=body, headers=session.headers) as response:
            await problem_of(response, 423, "account_locked")

    # One notice, however many attempts: wait for it, then for a later mail to the same
    # address (the outbox sends in order), and count.
    notice = await wait_for_mail(stack, address, LOCKED_SUBJECT)
    assert PASSWORD not in notice.body and WRONG not in notice.body
    async with stack.http.post("/v1/password/forgot", json={"email": address}) as response:
        assert response.status == 202
    await wait_for_mail(stack, address, RESET_SUBJECT)
    assert len(mails_to(stack, address, LOCKED_SUBJECT)) == 1


async def test_unknown_emails_lock_the_same_way(stack: AuthStack) -> None:
    known, _ = await new_user(stack, "known")
    await _attempts(stack, known, 10)
    unknown = new_email("nobody")
    assert await _attempts(stack, unknown, 12) == Counter({401: 10, 423: 2})
    # Same answer, same words: the 423 does not tell an account from a stranger's address.
    assert await _locked_detail(stack, unknown) == await _locked_detail(stack, known)


async def test_a_success_before_the_tenth_failure_resets_the_count(stack: AuthStack) -> None:
    address, _ = await new_user(stack, "reset-count")
    for _ in range(2):
        assert await _attempts(stack, address, 9) == Counter({401: 9})
        status, body = await sign_in_response(stack, address)
        assert status == 200, body


async def test_a_password_reset_does_not_unlock(stack: AuthStack, support: Session) -> None:
    address, session = await new_user(stack, "reset-locked")
    await _attempts(stack, address, 10)
    async with stack.http.post("/v1/password/forgot", json={"email": address}) as response:
        assert response.status == 202
    token = (await wait_for_mail(stack, address, RESET_SUBJECT)).token("/reset")
    body = {"token": token, "new_password": NEW_PASSWORD}
    async with stack.http.post("/v1/password/reset", json=body) as response:
        assert response.status == 204, await response.text()
    await wait_for_mail(stack, address, RESET_NOTICE_SUBJECT)
    await _locked_detail(stack, address, NEW_PASSWORD)
    listed = await _admin_account(stack, support, session.account["id"])
    assert listed is not None and listed["failed_attempts"] == 10
