"""A refresh whose answer was lost may be retried once its successor is known unused.

docs/api.md, "Sessions": a spent token presented again within 10 s, while the token it was
rotated to has never been used, rotates again and that unused successor dies; every other
reuse revokes the whole session, including a later use of the successor that died.
"""

from __future__ import annotations

import grpc

from tests.support.auth_calls import bearer, fetch, sign_in, sign_up
from tests.support.auth_service import RunningAuth
from tests.support.rpc_errors import failure_of
from trackcc.auth.v1 import auth_service_pb2 as pb


def _refresh(
    auth: RunningAuth, token: str
) -> grpc.aio.UnaryUnaryCall[pb.RefreshSessionRequest, pb.SessionTokens]:
    # The call itself, not a coroutine: failure_of reads its status details.
    return auth.stub.RefreshSession(pb.RefreshSessionRequest(refresh_token=token))


async def _session_revoked(auth: RunningAuth, tokens: pb.SessionTokens) -> bool:
    failure = await failure_of(
        auth.stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(tokens.access_token))
    )
    return bool(failure.code == grpc.StatusCode.UNAUTHENTICATED)


async def _reuse_events(auth: RunningAuth) -> list[str]:
    rows = await fetch(auth, "SELECT event FROM audit_log WHERE event = 'session_reuse_detected'")
    return [row["event"] for row in rows]


async def test_a_retry_within_ten_seconds_rotates_again_and_the_lost_successor_dies(
    auth: RunningAuth,
) -> None:
    await sign_up(auth)
    first = await sign_in(auth)
    lost = await _refresh(auth, first.refresh_token)  # this answer never reached the client
    auth.clock.advance(seconds=9)
    retried = await _refresh(auth, first.refresh_token)
    assert retried.session_id == first.session_id
    assert retried.refresh_token not in (first.refresh_token, lost.refresh_token)

    # The session goes on with the retry's token...
    following = await _refresh(auth, retried.refresh_token)
    assert following.session_id == first.session_id
    assert await _reuse_events(auth) == []

    # ...and the successor that died is a copied token when it shows up later.
    reused = await failure_of(_refresh(auth, lost.refresh_token))
    assert reused.reason == "invalid_token"
    assert await _session_revoked(auth, following)
    assert (await failure_of(_refresh(auth, following.refresh_token))).reason == "invalid_token"
    assert await _reuse_events(auth) == ["session_reuse_detected"]


async def test_the_replaced_successor_revokes_even_within_the_window(auth: RunningAuth) -> None:
    await sign_up(auth)
    first = await sign_in(auth)
    lost = await _refresh(auth, first.refresh_token)
    retried = await _refresh(auth, first.refresh_token)
    assert (await failure_of(_refresh(auth, lost.refresh_token))).reason == "invalid_token"
    assert (await failure_of(_refresh(auth, retried.refresh_token))).reason == "invalid_token"


async def test_a_retry_after_ten_seconds_revokes_the_session(auth: RunningAuth) -> None:
    await sign_up(auth)
    first = await sign_in(auth)
    second = await _refresh(auth, first.refresh_token)
    auth.clock.advance(seconds=10, microseconds=1000)
    assert (await failure_of(_refresh(auth, first.refresh_token))).reason == "invalid_token"
    assert (await failure_of(_refresh(auth, second.refresh_token))).reason == "invalid_token"
    assert await _session_revoked(auth, second)


async def test_a_retry_after_the_successor_was_used_revokes_the_session(
    auth: RunningAuth,
) -> None:
    await sign_up(auth)
    first = await sign_in(auth)
    second = await _refresh(auth, first.refresh_token)
    third = await _refresh(auth, second.refresh_token)  # the successor was used: not a lost answer
    assert (await failure_of(_refresh(auth, first.refresh_token))).reason == "invalid_token"
    assert (await failure_of(_refresh(auth, third.refresh_token))).reason == "invalid_token"
    assert await _session_revoked(auth, third)


async def test_sign_in_and_refresh_say_when_the_session_ends_at_the_latest(
    auth: RunningAuth,
) -> None:
    await sign_up(auth)
    signed_in = await sign_in(auth)
    ends = signed_in.session_expire_time.ToDatetime()
    expected = auth.clock.now.replace(tzinfo=None)
    assert abs((ends - expected).total_seconds() - 90 * 86400) < 5
    auth.clock.advance(days=3)
    refreshed = await _refresh(auth, signed_in.refresh_token)
    assert refreshed.session_expire_time == signed_in.session_expire_time
