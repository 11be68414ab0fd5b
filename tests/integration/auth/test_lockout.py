"""The lockout rule over real gRPC: 10 failures lock, only support unlocks."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import grpc
import pytest

from tests.support.auth_calls import (
    EMAIL,
    PASSWORD,
    bearer,
    fetch,
    fetchval,
    sign_in,
    sign_up,
    support_token,
)
from tests.support.auth_service import RunningAuth
from tests.support.rpc_errors import failure_of
from trackcc.auth.v1 import auth_service_pb2 as pb

WRONG = "not the password at all 1"


def _attempt(auth: RunningAuth, email: str = EMAIL, password: str = WRONG) -> Any:
    return auth.stub.CreateSession(pb.CreateSessionRequest(email=email, password=password))


async def _fail(auth: RunningAuth, times: int, email: str = EMAIL) -> list[str]:
    reasons = []
    for _ in range(times):
        reasons.append((await failure_of(_attempt(auth, email))).reason)
    return reasons


async def test_ten_failures_lock_even_the_right_password(auth: RunningAuth) -> None:
    await sign_up(auth)
    # The tenth failure is still a failed sign-in, and locks.
    reasons = await _fail(auth, 10)
    assert reasons == ["invalid_credentials"] * 10
    failure = await failure_of(_attempt(auth, password=PASSWORD))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "account_locked"
    assert "email address" in failure.message and "support" in failure.message
    row = (await fetch(auth, "SELECT failed_attempts, locked_at FROM accounts"))[0]
    assert row["failed_attempts"] == 10 and row["locked_at"] is not None


async def test_a_success_before_the_tenth_failure_resets_the_count(auth: RunningAuth) -> None:
    await sign_up(auth)
    await _fail(auth, 9)
    await sign_in(auth)
    assert await fetchval(auth, "SELECT failed_attempts FROM accounts") == 0
    assert await _fail(auth, 9) == ["invalid_credentials"] * 9
    await sign_in(auth)


async def test_fifty_parallel_wrong_attempts_lock_at_exactly_ten(auth: RunningAuth) -> None:
    await sign_up(auth)
    calls = [_attempt(auth) for _ in range(50)]
    # A right password in the middle of the storm must not get through once locked.
    results = await asyncio.gather(*(failure_of(call) for call in calls))
    reasons = [r.reason for r in results]
    assert reasons.count("invalid_credentials") == 10
    assert reasons.count("account_locked") == 40
    assert await fetchval(auth, "SELECT failed_attempts FROM accounts") == 10
    late = await asyncio.gather(*(failure_of(_attempt(auth, password=PASSWORD)) for _ in range(5)))
    assert {r.reason for r in late} == {"account_locked"}
    assert await fetchval(auth, "SELECT count(*) FROM mail_outbox") == 2  # verify + one notice


async def test_right_and_wrong_passwords_racing_keep_the_rule(auth: RunningAuth) -> None:
    await sign_up(auth)
    wrong = [_attempt(auth) for _ in range(30)]
    right = [_attempt(auth, password=PASSWORD) for _ in range(10)]
    outcomes = await asyncio.gather(*wrong, *right, return_exceptions=True)
    successes = [o for o in outcomes if isinstance(o, pb.SessionTokens)]
    row = (await fetch(auth, "SELECT failed_attempts, locked_at FROM accounts"))[0]
    # Whatever the interleaving: locked with exactly 10, or unlocked below 10.
    if row["locked_at"] is None:
        assert row["failed_attempts"] < 10
    else:
        assert row["failed_attempts"] == 10
    assert await fetchval(auth, "SELECT count(*) FROM sessions") == len(successes)
    await _fail(auth, 10 - row["failed_attempts"] if row["locked_at"] is None else 0)
    assert (await failure_of(_attempt(auth, password=PASSWORD))).reason == "account_locked"


async def test_unknown_emails_answer_and_lock_alike(auth: RunningAuth) -> None:
    ghost = "nobody.here@example.org"
    reasons = await _fail(auth, 10, ghost)
    assert reasons == ["invalid_credentials"] * 10
    again = await failure_of(_attempt(auth, ghost))
    assert again.code == grpc.StatusCode.FAILED_PRECONDITION
    assert again.message == (await _locked_message(auth))
    stored = await fetch(auth, "SELECT email_hmac, failed_attempts FROM unknown_email_failures")
    assert len(stored) == 1 and stored[0]["failed_attempts"] == 10
    assert ghost.encode() not in bytes(stored[0]["email_hmac"])


async def _locked_message(auth: RunningAuth) -> str:
    await sign_up(auth)
    await _fail(auth, 10)
    return (await failure_of(_attempt(auth))).message


async def test_locking_sends_one_notice_whose_link_files_an_unlock_request(
    auth: RunningAuth,
) -> None:
    await sign_up(auth)
    await _fail(auth, 12)
    await auth.deliver_mail()
    notices = [m for m in auth.sink.messages if "locked" in m.subject]
    assert len(notices) == 1
    assert PASSWORD not in notices[0].body and WRONG not in notices[0].body
    token = notices[0].link("/unlock-request")
    await auth.stub.CreateUnlockRequest(pb.CreateUnlockRequestRequest(token=token))
    reused = await failure_of(
        auth.stub.CreateUnlockRequest(pb.CreateUnlockRequestRequest(token=token))
    )
    assert reused.code == grpc.StatusCode.INVALID_ARGUMENT and reused.reason == "invalid_token"

    staff = bearer(await support_token(auth))
    queue = await auth.stub.ListUnlockRequests(pb.ListUnlockRequestsRequest(), metadata=staff)
    assert [r.email for r in queue.unlock_requests] == [EMAIL]
    locked = await auth.stub.ListAdminAccounts(
        pb.ListAdminAccountsRequest(locked_only=True), metadata=staff
    )
    assert [(a.email, a.failed_attempts) for a in locked.accounts] == [(EMAIL, 10)]
    assert locked.accounts[0].HasField("lock_time")

    account_id = queue.unlock_requests[0].account_id
    await auth.stub.UnlockAccount(
        pb.UnlockAccountRequest(account_id=account_id, reason="owner asked by mail"),
        metadata=staff,
    )
    await sign_in(auth)
    audit = await fetch(auth, "SELECT actor, subject, event, reason FROM audit_log ORDER BY id")
    assert [a["event"] for a in audit] == ["lockout", "unlock"]
    assert audit[1]["reason"] == "owner asked by mail"
    assert str(audit[1]["subject"]) == account_id
    queue = await auth.stub.ListUnlockRequests(pb.ListUnlockRequestsRequest(), metadata=staff)
    assert list(queue.unlock_requests) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda stub, md: stub.ListAdminAccounts(pb.ListAdminAccountsRequest(), metadata=md),
        lambda stub, md: stub.ListUnlockRequests(pb.ListUnlockRequestsRequest(), metadata=md),
        lambda stub, md: stub.UnlockAccount(
            pb.UnlockAccountRequest(account_id="x", reason="r"), metadata=md
        ),
    ],
)
async def test_support_methods_refuse_other_roles(auth: RunningAuth, call: object) -> None:
    await sign_up(auth)
    token = (await sign_in(auth)).access_token
    failure = await failure_of(call(auth.stub, bearer(token)))  # type: ignore[operator]
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED


async def test_unlock_of_an_unknown_account_is_not_found(auth: RunningAuth) -> None:
    staff = bearer(await support_token(auth))
    failure = await failure_of(
        auth.stub.UnlockAccount(
            pb.UnlockAccountRequest(account_id="00000000-0000-0000-0000-000000000000", reason="r"),
            metadata=staff,
        )
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND


async def test_login_metrics_count_locked_answers_and_lockouts(auth: RunningAuth) -> None:
    await sign_up(auth)
    await _fail(auth, 12)
    text = await _metrics(auth)
    assert 'trackcc_auth_logins_total{result="invalid_credentials"} 10.0' in text
    assert 'trackcc_auth_logins_total{result="locked"} 2.0' in text
    assert "trackcc_auth_lockouts_total 1.0" in text


async def _metrics(auth: RunningAuth) -> str:
    url = f"http://127.0.0.1:{auth.service.metrics_port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return await response.text()
