"""Revoked sessions stop working within the cache time, sign-out through the gateway at once;
auth's reasons reach the client with the contract's statuses; the request id and the default
deadline reach auth.

The gateway runs over real HTTPS in front of a fake AuthService (real gRPC, real mTLS), so
these tests do not wait for auth's own BatchGetSessionStates. A hand-driven clock stands in
for time; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from services.common.devcerts import DevPki
from services.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
    Unauthenticated,
)
from services.common.tokens import Principal, TokenSigner, load_signing_keys
from tests.support.fake_auth import FakeAuth, running_fake_auth
from tests.support.gateway import RunningGateway, gateway_env, running_gateway
from tests.support.http_checks import problem_of
from tests.support.services import JwtKeys, make_jwt_keys

CACHE_SECONDS = 30
LOCKED_DETAIL = (
    "This account is locked after too many failed sign-ins. Follow the link in the notice "
    "we mailed to the account address, or write to support from that address."
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Stack:
    """A gateway in front of the fake auth, and a way to mint access tokens."""

    gateway: RunningGateway
    auth: FakeAuth
    clock: FakeClock
    signer: TokenSigner

    def token(self, session_id: str, user_id: str = "00000000-0000-4000-8000-000000000001") -> str:
        principal = Principal(user_id=user_id, session_id=session_id, role="teacher")
        return self.signer.issue(principal)

    def headers(self, session_id: str, user_id: str | None = None) -> dict[str, str]:
        token = self.token(session_id) if user_id is None else self.token(session_id, user_id)
        return {"Authorization": f"Bearer {token}"}

    def new_session(self) -> str:
        session_id = str(uuid.uuid4())
        self.auth.active.add(session_id)
        return session_id


def _signer(keys: JwtKeys) -> TokenSigner:
    signing = load_signing_keys(keys.keys_dir)
    return TokenSigner(signing, signing[0].kid, "trackcc", "trackcc-api", 900)


@contextlib.asynccontextmanager
async def _stack(pki: DevPki, directory: Path, **extra: str) -> AsyncIterator[Stack]:
    keys = make_jwt_keys(directory)
    fake, clock = FakeAuth(), FakeClock()
    async with running_fake_auth(fake, pki) as auth:
        # roster and sharing are never called here; their channels stay unconnected.
        targets = {"auth": auth.target, "roster": auth.target, "sharing": auth.target}
        env = gateway_env(
            pki,
            keys.jwks_file,
            targets,
            {"TRACKCC_GATEWAY_SESSION_CACHE_SECONDS": str(CACHE_SECONDS), **extra},
        )
        async with running_gateway(env, pki, clock=clock) as gateway:
            yield Stack(gateway, fake, clock, _signer(keys))


@pytest.fixture
async def stack(pki: DevPki, tmp_path: Path) -> AsyncIterator[Stack]:
    async with _stack(pki, tmp_path) as running:
        yield running


async def _me_status(stack: Stack, session_id: str) -> int:
    async with stack.gateway.http.get("/v1/me", headers=stack.headers(session_id)) as response:
        return response.status


async def test_an_active_session_passes_and_the_request_id_reaches_auth(stack: Stack) -> None:
    session_id = stack.new_session()
    headers = stack.headers(session_id) | {"X-Request-Id": "req-from-client-1"}
    async with stack.gateway.http.get("/v1/me", headers=headers) as response:
        assert response.status == 200, await response.text()
        assert response.headers["X-Request-Id"] == "req-from-client-1"
    (lookup,) = stack.auth.calls_to("BatchGetSessionStates")
    assert list(lookup.request.session_ids) == [session_id]  # type: ignore[attr-defined]
    (get_account,) = stack.auth.calls_to("GetAccount")
    assert get_account.metadata["x-request-id"] == "req-from-client-1"
    assert get_account.metadata["authorization"].startswith("Bearer ")
    # The gateway's default deadline (TRACKCC_GATEWAY_GRPC_TIMEOUT_SECONDS, 5 s) went along;
    # the wire's grpc-timeout is rounded up, so the server may see a few ms more.
    assert get_account.time_remaining is not None
    assert 3.0 < get_account.time_remaining <= 5.5
    # The session lookup carries no user token: auth trusts the gateway's certificate for it.
    assert "authorization" not in lookup.metadata


async def test_an_rpc_the_service_does_not_implement_is_501_problem(stack: Stack) -> None:
    # The fake answers UNIMPLEMENTED for ForgotPassword, as a service does for a method
    # whose issue has not landed yet.
    body = {"email": "someone@example.org"}
    async with stack.gateway.http.post("/v1/password/forgot", json=body) as response:
        problem = await problem_of(response, 501, "not_implemented")
    assert "Traceback" not in problem["detail"]


async def test_a_session_auth_does_not_list_is_401_invalid_token(stack: Stack) -> None:
    async with stack.gateway.http.get("/v1/me", headers=stack.headers("revoked-sid")) as response:
        await problem_of(response, 401, "invalid_token")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stack.auth.calls_to("GetAccount") == []


async def test_a_revocation_in_auth_is_seen_once_the_cache_time_has_passed(stack: Stack) -> None:
    session_id = stack.new_session()
    assert await _me_status(stack, session_id) == 200
    stack.auth.active.discard(session_id)  # revoked elsewhere (another gateway, a reset)
    stack.clock.now += CACHE_SECONDS - 1
    assert await _me_status(stack, session_id) == 200
    stack.clock.now += 2
    assert await _me_status(stack, session_id) == 401
    assert len(stack.auth.calls_to("BatchGetSessionStates")) == 2


async def test_concurrent_requests_of_one_session_ask_auth_once(stack: Stack) -> None:
    session_id = stack.new_session()
    statuses = await asyncio.gather(*(_me_status(stack, session_id) for _ in range(20)))
    assert statuses == [200] * 20
    assert len(stack.auth.calls_to("BatchGetSessionStates")) == 1


@pytest.mark.parametrize("failure", [grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNAVAILABLE])
async def test_unknown_sessions_are_refused_with_503_when_auth_cannot_answer(
    stack: Stack, failure: grpc.StatusCode
) -> None:
    stack.auth.failures["BatchGetSessionStates"] = failure
    session_id = stack.new_session()
    async with stack.gateway.http.get("/v1/me", headers=stack.headers(session_id)) as response:
        await problem_of(response, 503, "unavailable")
    assert stack.auth.calls_to("GetAccount") == []
    del stack.auth.failures["BatchGetSessionStates"]
    assert await _me_status(stack, session_id) == 200


async def test_unreachable_auth_fails_closed(pki: DevPki, tmp_path: Path) -> None:
    keys = make_jwt_keys(tmp_path)
    fake = FakeAuth()
    async with running_fake_auth(fake, pki) as auth:
        target = auth.target
    env = gateway_env(
        pki,
        keys.jwks_file,
        {"auth": target, "roster": target, "sharing": target},
        {"TRACKCC_GATEWAY_GRPC_TIMEOUT_SECONDS": "2"},
    )
    async with running_gateway(env, pki) as gateway:
        token = _signer(keys).issue(Principal(str(uuid.uuid4()), str(uuid.uuid4()), "teacher"))
        headers = {"Authorization": f"Bearer {token}"}
        async with gateway.http.get("/v1/me", headers=headers) as response:
            await problem_of(response, 503, "unavailable")


async def test_sign_out_stops_the_token_at_once(stack: Stack) -> None:
    session_id = stack.new_session()
    assert await _me_status(stack, session_id) == 200
    headers = stack.headers(session_id)
    async with stack.gateway.http.delete("/v1/sessions/current", headers=headers) as response:
        assert response.status == 204
    stack.auth.active.discard(session_id)  # what auth did for "current"
    assert await _me_status(stack, session_id) == 401  # no clock change: evicted, asked again


async def test_ending_another_session_stops_its_token_at_once(stack: Stack) -> None:
    phone, laptop = stack.new_session(), stack.new_session()
    assert await _me_status(stack, phone) == 200
    path = f"/v1/sessions/{phone}"
    async with stack.gateway.http.delete(path, headers=stack.headers(laptop)) as response:
        assert response.status == 204
    assert await _me_status(stack, phone) == 401
    assert await _me_status(stack, laptop) == 200


async def test_sign_out_everywhere_stops_every_token_of_the_user_at_once(stack: Stack) -> None:
    user, other_user = str(uuid.uuid4()), str(uuid.uuid4())
    mine = [stack.new_session() for _ in range(3)]
    theirs = stack.new_session()
    for session_id in mine:
        assert await _me_status_of(stack, session_id, user) == 200
    assert await _me_status_of(stack, theirs, other_user) == 200
    async with stack.gateway.http.delete(
        "/v1/sessions", headers=stack.headers(mine[0], user)
    ) as response:
        assert response.status == 204
    stack.auth.active -= set(mine)
    for session_id in mine:
        assert await _me_status_of(stack, session_id, user) == 401
    assert await _me_status_of(stack, theirs, other_user) == 200
    # Only the signed-out user's sessions were asked again.
    lookups = stack.auth.calls_to("BatchGetSessionStates")
    asked = [s for call in lookups for s in call.request.session_ids]  # type: ignore[attr-defined]
    assert asked.count(theirs) == 1


async def _me_status_of(stack: Stack, session_id: str, user_id: str) -> int:
    headers = stack.headers(session_id, user_id)
    async with stack.gateway.http.get("/v1/me", headers=headers) as response:
        return response.status


# --- issue 3's reasons through the gateway ------------------------------------------------


SIGN_IN = {"email": "someone@example.org", "password": "whatever it is"}


async def test_account_locked_is_423_with_auth_detail(stack: Stack) -> None:
    stack.auth.failures["CreateSession"] = FailedPrecondition(
        LOCKED_DETAIL, reason="account_locked"
    )
    async with stack.gateway.http.post("/v1/sessions", json=SIGN_IN) as response:
        problem = await problem_of(response, 423, "account_locked")
    assert problem["detail"] == LOCKED_DETAIL


async def test_rate_limited_by_auth_is_429_with_retry_after(stack: Stack) -> None:
    stack.auth.failures["CreateSession"] = ResourceExhausted(
        "too many attempts", reason="rate_limited", metadata={"retry_after_seconds": "42"}
    )
    async with stack.gateway.http.post("/v1/sessions", json=SIGN_IN) as response:
        await problem_of(response, 429, "rate_limited")
        assert response.headers["Retry-After"] == "42"


async def test_invalid_credentials_is_401(stack: Stack) -> None:
    stack.auth.failures["CreateSession"] = Unauthenticated(
        "wrong email or password", reason="invalid_credentials"
    )
    async with stack.gateway.http.post("/v1/sessions", json=SIGN_IN) as response:
        problem = await problem_of(response, 401, "invalid_credentials")
    assert problem["detail"] == "wrong email or password"


async def test_weak_password_is_422_with_the_score(stack: Stack) -> None:
    stack.auth.failures["CreateAccount"] = InvalidArgument(
        "this password is too easy to guess",
        reason="weak_password",
        field_violations=[("password", "is too easy to guess")],
        metadata={"score": "1"},
    )
    body = {"email": "new@example.org", "password": "password123", "role": "teacher"}
    async with stack.gateway.http.post("/v1/accounts", json=body) as response:
        problem = await problem_of(response, 422, "weak_password")
    assert problem["score"] == 1
    assert problem["errors"] == [{"field": "password", "message": "is too easy to guess"}]
    assert "password123" not in str(problem)
