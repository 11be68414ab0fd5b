"""Forgot, reset and change password over real gRPC, with mail through the SMTP sink."""

from __future__ import annotations

import grpc

from tests.support.auth_calls import (
    EMAIL,
    NEW_PASSWORD,
    PASSWORD,
    bearer,
    fetch,
    fetchval,
    sign_in,
    sign_up,
)
from tests.support.auth_service import RunningAuth
from tests.support.rpc_errors import failure_of
from trackcc.auth.v1 import auth_service_pb2 as pb

WRONG = "not the password at all 1"


async def _forgot(auth: RunningAuth, email: str = EMAIL) -> None:
    await auth.stub.ForgotPassword(pb.ForgotPasswordRequest(email=email))


def _reset(auth: RunningAuth, token: str, password: str = NEW_PASSWORD) -> object:
    return auth.stub.ResetPassword(pb.ResetPasswordRequest(token=token, new_password=password))


async def _reset_token(auth: RunningAuth) -> str:
    await auth.deliver_mail()
    return [m for m in auth.sink.to(EMAIL) if "Reset" in m.subject][-1].link("/reset")


async def test_forgot_answers_alike_and_throttles_to_three_an_hour(auth: RunningAuth) -> None:
    await sign_up(auth)
    await _forgot(auth, "nobody@example.org")
    for _ in range(5):
        await _forgot(auth)
    await auth.deliver_mail()
    assert len([m for m in auth.sink.messages if "Reset" in m.subject]) == 3
    auth.clock.advance(hours=1, seconds=1)
    await _forgot(auth)
    await auth.deliver_mail()
    assert len([m for m in auth.sink.messages if "Reset" in m.subject]) == 4
    assert all(m.recipient == EMAIL for m in auth.sink.messages)


async def test_reset_sets_the_password_revokes_all_sessions_and_notifies(
    auth: RunningAuth,
) -> None:
    await sign_up(auth)
    old = await sign_in(auth)
    await _forgot(auth)
    token = await _reset_token(auth)
    weak = await failure_of(_reset(auth, token, "password"))
    assert weak.code == grpc.StatusCode.INVALID_ARGUMENT and weak.reason == "weak_password"
    await _reset(auth, token)  # type: ignore[misc]
    assert (await failure_of(_reset(auth, token))).reason == "invalid_token"
    refresh = await failure_of(
        auth.stub.RefreshSession(pb.RefreshSessionRequest(refresh_token=old.refresh_token))
    )
    assert refresh.reason == "invalid_token"
    assert (
        await failure_of(
            auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=PASSWORD))
        )
    ).reason == "invalid_credentials"
    await sign_in(auth, password=NEW_PASSWORD)
    await auth.deliver_mail()
    notice = auth.sink.to(EMAIL)[-1]
    assert "reset" in notice.subject and NEW_PASSWORD not in notice.body
    assert [e["event"] for e in await fetch(auth, "SELECT event FROM audit_log")] == [
        "password_reset"
    ]


async def test_reset_links_expire_after_an_hour(auth: RunningAuth) -> None:
    await sign_up(auth)
    await _forgot(auth)
    token = await _reset_token(auth)
    auth.clock.advance(hours=1, seconds=1)
    assert (await failure_of(_reset(auth, token))).reason == "invalid_token"


async def test_a_reset_does_not_unlock(auth: RunningAuth) -> None:
    await sign_up(auth)
    for _ in range(10):
        await failure_of(
            auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=WRONG))
        )
    await _forgot(auth)
    await _reset(auth, await _reset_token(auth))  # type: ignore[misc]
    locked = await failure_of(
        auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=NEW_PASSWORD))
    )
    assert locked.reason == "account_locked"
    assert await fetchval(auth, "SELECT failed_attempts FROM accounts") == 10


async def test_change_needs_the_current_password_and_keeps_only_this_session(
    auth: RunningAuth,
) -> None:
    await sign_up(auth)
    other = await sign_in(auth)
    this = await sign_in(auth)
    wrong = await failure_of(
        auth.stub.ChangePassword(
            pb.ChangePasswordRequest(current_password=WRONG, new_password=NEW_PASSWORD),
            metadata=bearer(this.access_token),
        )
    )
    assert wrong.code == grpc.StatusCode.UNAUTHENTICATED and wrong.reason == "invalid_credentials"
    weak = await failure_of(
        auth.stub.ChangePassword(
            pb.ChangePasswordRequest(current_password=PASSWORD, new_password="trackcc-rocks-1"),
            metadata=bearer(this.access_token),
        )
    )
    assert weak.reason == "weak_password"
    await auth.stub.ChangePassword(
        pb.ChangePasswordRequest(current_password=PASSWORD, new_password=NEW_PASSWORD),
        metadata=bearer(this.access_token),
    )
    await auth.stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(this.access_token))
    ended = await failure_of(
        auth.stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(other.access_token))
    )
    assert ended.code == grpc.StatusCode.UNAUTHENTICATED
    await sign_in(auth, password=NEW_PASSWORD)
    await auth.deliver_mail()
    assert "changed" in auth.sink.to(EMAIL)[-1].subject
