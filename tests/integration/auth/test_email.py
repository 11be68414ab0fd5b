"""Email verification and email change through mailed single-use links."""

from __future__ import annotations

import grpc

from tests.support.auth_calls import EMAIL, PASSWORD, bearer, fetch, sign_in, sign_up
from tests.support.auth_service import RunningAuth
from tests.support.rpc_errors import failure_of
from trackcc.auth.v1 import auth_service_pb2 as pb

NEW_EMAIL = "alice.new@example.org"


def _verify(auth: RunningAuth, token: str) -> object:
    return auth.stub.VerifyEmail(pb.VerifyEmailRequest(token=token))


async def test_signup_mails_a_single_use_verification_link(auth: RunningAuth) -> None:
    await sign_up(auth)
    assert await auth.deliver_mail() == 1
    [mail] = auth.sink.to(EMAIL)
    assert PASSWORD not in mail.body
    token = mail.link("/verify")
    stored = await fetch(
        auth, "SELECT token_hash, expires_at - created_at AS life FROM mail_tokens"
    )
    assert token.encode() not in bytes(stored[0]["token_hash"])
    assert stored[0]["life"].days == 7
    await _verify(auth, token)  # type: ignore[misc]
    assert (await sign_in(auth)).account.email_verified
    again = await failure_of(_verify(auth, token))
    assert again.code == grpc.StatusCode.INVALID_ARGUMENT and again.reason == "invalid_token"


async def test_an_expired_verification_link_is_refused(auth: RunningAuth) -> None:
    await sign_up(auth)
    await auth.deliver_mail()
    auth.clock.advance(days=7, seconds=1)
    failure = await failure_of(_verify(auth, auth.sink.to(EMAIL)[0].link("/verify")))
    assert failure.reason == "invalid_token"


async def test_email_change_happens_when_the_new_address_confirms(auth: RunningAuth) -> None:
    await sign_up(auth)
    tokens = await sign_in(auth)
    await auth.stub.RequestEmailChange(
        pb.RequestEmailChangeRequest(new_email=NEW_EMAIL, password=PASSWORD),
        metadata=bearer(tokens.access_token),
    )
    await auth.deliver_mail()
    assert [m.subject for m in auth.sink.to(EMAIL)][-1].startswith("Your TrackCC email")
    [confirmation] = auth.sink.to(NEW_EMAIL)
    account = await auth.stub.GetAccount(
        pb.GetAccountRequest(), metadata=bearer(tokens.access_token)
    )
    assert account.email == EMAIL  # nothing changes before the confirmation
    await _verify(auth, confirmation.link("/verify"))  # type: ignore[misc]
    moved = await sign_in(auth, NEW_EMAIL)
    assert moved.account.email == NEW_EMAIL and moved.account.email_verified
    # The old signup link proves the old address only.
    old = await failure_of(_verify(auth, auth.sink.to(EMAIL)[0].link("/verify")))
    assert old.reason == "invalid_token"


async def test_email_change_needs_the_password_and_a_free_address(auth: RunningAuth) -> None:
    await sign_up(auth)
    await sign_up(auth, NEW_EMAIL)
    tokens = await sign_in(auth)
    wrong = await failure_of(
        auth.stub.RequestEmailChange(
            pb.RequestEmailChangeRequest(new_email="x.y@example.org", password="nope nope 123"),
            metadata=bearer(tokens.access_token),
        )
    )
    assert wrong.code == grpc.StatusCode.UNAUTHENTICATED and wrong.reason == "invalid_credentials"
    taken = await failure_of(
        auth.stub.RequestEmailChange(
            pb.RequestEmailChangeRequest(new_email=NEW_EMAIL.upper(), password=PASSWORD),
            metadata=bearer(tokens.access_token),
        )
    )
    assert taken.code == grpc.StatusCode.ALREADY_EXISTS and taken.reason == "email_taken"
