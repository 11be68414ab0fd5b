"""Sessions: rotation, reuse detection, lifetimes, listing, sign-out, the gateway's states."""

from __future__ import annotations

import argon2
import grpc

from tests.support.auth_calls import PASSWORD, bearer, fetch, fetchval, sign_in, sign_up
from tests.support.auth_service import RunningAuth
from tests.support.rpc_errors import failure_of
from tests.support.services import client_channel
from trackcc.auth.v1 import auth_service_pb2 as pb
from trackcc.auth.v1 import auth_service_pb2_grpc


def _refresh(auth: RunningAuth, token: str) -> object:
    return auth.stub.RefreshSession(pb.RefreshSessionRequest(refresh_token=token))


async def test_refresh_rotates_and_the_old_token_is_spent(auth: RunningAuth) -> None:
    await sign_up(auth)
    first = await sign_in(auth)
    second = await _refresh(auth, first.refresh_token)  # type: ignore[misc]
    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id
    third = await _refresh(auth, second.refresh_token)  # type: ignore[misc]
    assert third.access_token
    stored = await fetch(auth, "SELECT refresh_token_hash FROM sessions")
    assert third.refresh_token.encode() not in bytes(stored[0]["refresh_token_hash"])


async def test_reusing_a_spent_token_revokes_the_whole_session(auth: RunningAuth) -> None:
    await sign_up(auth)
    first = await sign_in(auth)
    second = await _refresh(auth, first.refresh_token)  # type: ignore[misc]
    auth.clock.advance(seconds=11)  # past the window in which a lost answer may be retried
    reused = await failure_of(_refresh(auth, first.refresh_token))
    assert reused.code == grpc.StatusCode.UNAUTHENTICATED and reused.reason == "invalid_token"
    # The thief's use killed the legitimate holder's newer token too.
    assert (await failure_of(_refresh(auth, second.refresh_token))).reason == "invalid_token"
    get = await failure_of(
        auth.stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(second.access_token))
    )
    assert get.code == grpc.StatusCode.UNAUTHENTICATED
    events = await fetch(auth, "SELECT event FROM audit_log")
    assert [e["event"] for e in events] == ["session_reuse_detected"]


async def test_sessions_end_after_idle_and_total_lifetimes(auth: RunningAuth) -> None:
    await sign_up(auth)
    tokens = await sign_in(auth)
    auth.clock.advance(days=29)
    tokens = await _refresh(auth, tokens.refresh_token)  # type: ignore[misc]
    auth.clock.advance(days=30, seconds=1)
    assert (await failure_of(_refresh(auth, tokens.refresh_token))).reason == "invalid_token"

    tokens = await sign_in(auth)
    for _ in range(3):
        auth.clock.advance(days=29)
        tokens = await _refresh(auth, tokens.refresh_token)  # type: ignore[misc]
    auth.clock.advance(days=4)  # 91 days in all, though used 4 days ago
    assert (await failure_of(_refresh(auth, tokens.refresh_token))).reason == "invalid_token"


async def test_list_and_delete_sessions(auth: RunningAuth) -> None:
    await sign_up(auth)
    phone = await sign_in(auth, user_agent="Phone/1.0")
    auth.clock.advance(seconds=2)  # within the verifier's leeway: it reads the real time
    laptop = await sign_in(auth, user_agent="Laptop/2.0")
    listed = await auth.stub.ListSessions(
        pb.ListSessionsRequest(), metadata=bearer(laptop.access_token)
    )
    assert [(s.user_agent, s.current) for s in listed.sessions] == [
        ("Laptop/2.0", True),
        ("Phone/1.0", False),
    ]
    assert listed.sessions[0].HasField("last_use_time")

    page = await auth.stub.ListSessions(
        pb.ListSessionsRequest(page_size=1), metadata=bearer(laptop.access_token)
    )
    rest = await auth.stub.ListSessions(
        pb.ListSessionsRequest(page_size=1, page_token=page.next_page_token),
        metadata=bearer(laptop.access_token),
    )
    assert [s.user_agent for s in [*page.sessions, *rest.sessions]] == ["Laptop/2.0", "Phone/1.0"]
    assert rest.next_page_token == ""

    await auth.stub.DeleteSession(
        pb.DeleteSessionRequest(session_id=phone.session_id), metadata=bearer(laptop.access_token)
    )
    assert (await failure_of(_refresh(auth, phone.refresh_token))).reason == "invalid_token"
    await auth.stub.DeleteSession(
        pb.DeleteSessionRequest(session_id="current"), metadata=bearer(laptop.access_token)
    )
    ended = await failure_of(
        auth.stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(laptop.access_token))
    )
    assert ended.code == grpc.StatusCode.UNAUTHENTICATED


async def test_another_users_session_is_not_found(auth: RunningAuth) -> None:
    await sign_up(auth)
    await sign_up(auth, "bob@example.org")
    alice = await sign_in(auth)
    bob = await sign_in(auth, "bob@example.org")
    failure = await failure_of(
        auth.stub.DeleteSession(
            pb.DeleteSessionRequest(session_id=bob.session_id), metadata=bearer(alice.access_token)
        )
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND
    await auth.stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(bob.access_token))


async def test_delete_all_sessions_and_the_gateway_states(auth: RunningAuth) -> None:
    await sign_up(auth)
    one = await sign_in(auth)
    two = await sign_in(auth)
    states = await auth.stub.BatchGetSessionStates(
        pb.BatchGetSessionStatesRequest(session_ids=[one.session_id, two.session_id, "junk"])
    )
    assert set(states.active_session_ids) == {one.session_id, two.session_id}
    await auth.stub.DeleteAllSessions(
        pb.DeleteAllSessionsRequest(), metadata=bearer(one.access_token)
    )
    states = await auth.stub.BatchGetSessionStates(
        pb.BatchGetSessionStatesRequest(session_ids=[one.session_id, two.session_id])
    )
    assert list(states.active_session_ids) == []


async def test_only_the_gateway_may_ask_for_session_states(auth: RunningAuth, pki: object) -> None:
    async with client_channel(auth.service, pki, as_name="roster") as channel:  # type: ignore[arg-type]
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        failure = await failure_of(
            stub.BatchGetSessionStates(pb.BatchGetSessionStatesRequest(session_ids=[]))
        )
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED


async def test_a_sign_in_rehashes_a_hash_made_with_other_parameters(auth: RunningAuth) -> None:
    await sign_up(auth)
    # As an account signed up under older parameters would have it (argon2-cffi, t=3).
    older = argon2.PasswordHasher(time_cost=3, memory_cost=19456, parallelism=1).hash(PASSWORD)
    await fetchval(auth, "UPDATE accounts SET password_hash = $1 RETURNING id", older)
    first = await sign_in(auth)
    rehashed = await fetchval(auth, "SELECT password_hash FROM accounts")
    assert rehashed != older
    params = argon2.extract_parameters(rehashed)
    assert (params.type, params.memory_cost, params.time_cost, params.parallelism) == (
        argon2.Type.ID,
        19456,
        2,
        1,
    )
    assert argon2.PasswordHasher().verify(rehashed, PASSWORD)
    # The session of that sign-in was opened with it, and the next sign-in leaves it alone.
    assert await fetchval(auth, "SELECT count(*) FROM sessions") == 1
    assert first.session_id
    await sign_in(auth)
    assert await fetchval(auth, "SELECT password_hash FROM accounts") == rehashed
