"""The auth service over real mTLS gRPC against a real, freshly provisioned PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import aiohttp
import asyncpg
import grpc
import jwt
from argon2 import PasswordHasher, Type

from services.common.tokens import TokenVerifier
from tests.support.auth_service import RunningAuth
from tests.support.rpc_errors import failure_of
from trackcc.auth.v1 import auth_service_pb2 as pb

PASSWORD = "violet tundra marmalade 47"
EMAIL = "alice.teacher@example.org"


def _signup(
    email: str = EMAIL,
    password: str = PASSWORD,
    role: pb.Role.ValueType = pb.ROLE_TEACHER,
    **fields: str,
) -> pb.CreateAccountRequest:
    return pb.CreateAccountRequest(email=email, password=password, role=role, **fields)


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def _account_row(auth: RunningAuth, email: str = EMAIL) -> asyncpg.Record:
    connection = await asyncpg.connect(auth.database.runtime_dsn("auth"))
    try:
        row = await connection.fetchrow("SELECT * FROM accounts WHERE email = $1", email)
    finally:
        await connection.close()
    assert row is not None
    return row


async def _execute(auth: RunningAuth, sql: str, *args: Any) -> None:
    connection = await asyncpg.connect(auth.database.runtime_dsn("auth"))
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


async def _metrics(auth: RunningAuth) -> str:
    url = f"http://127.0.0.1:{auth.service.metrics_port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return await response.text()


async def test_signup_returns_the_normalized_account(auth: RunningAuth) -> None:
    account = await auth.stub.CreateAccount(
        _signup(
            email="  Alice.Teacher@Example.ORG ",
            display_name="Ms. A",
            birth_date="1990-04-01",
            gender="female",
        )
    )
    uuid.UUID(account.id)
    assert account.email == EMAIL
    assert account.role == pb.ROLE_TEACHER
    assert account.display_name == "Ms. A"
    assert account.birth_date == "1990-04-01"
    assert account.gender == "female"
    assert not account.email_verified
    assert account.create_time.seconds > 0


async def test_optional_fields_stay_unset(auth: RunningAuth) -> None:
    account = await auth.stub.CreateAccount(_signup())
    assert not account.HasField("display_name")
    assert not account.HasField("birth_date")
    assert not account.HasField("gender")


async def test_same_email_in_other_case_is_email_taken(auth: RunningAuth) -> None:
    await auth.stub.CreateAccount(_signup())
    failure = await failure_of(
        auth.stub.CreateAccount(_signup(email="ALICE.Teacher@example.org", role=pb.ROLE_GUARDIAN))
    )
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "email_taken"


async def test_weak_password_is_refused_with_its_score(auth: RunningAuth) -> None:
    failure = await failure_of(auth.stub.CreateAccount(_signup(password="password123")))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "weak_password"
    assert failure.metadata["score"] in {"0", "1", "2"}
    assert failure.field_violations[0][0] == "password"
    assert "guess" in failure.message
    connection = await asyncpg.connect(auth.database.runtime_dsn("auth"))
    try:
        assert await connection.fetchval("SELECT count(*) FROM accounts") == 0
    finally:
        await connection.close()


async def test_invalid_fields_are_listed_together(auth: RunningAuth) -> None:
    request = pb.CreateAccountRequest(
        email="not an email",
        password=PASSWORD,
        role=pb.ROLE_SUPPORT,
        birth_date="2999-01-01",
        gender="x" * 51,
    )
    failure = await failure_of(auth.stub.CreateAccount(request))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "validation_failed"
    assert {field for field, _ in failure.field_violations} == {
        "email",
        "role",
        "birth_date",
        "gender",
    }


async def test_sign_in_issues_tokens_that_verify_with_the_jwks(auth: RunningAuth) -> None:
    account = await auth.stub.CreateAccount(_signup())
    tokens = await auth.stub.CreateSession(
        pb.CreateSessionRequest(
            email=" Alice.Teacher@example.org", password=PASSWORD, user_agent="t/1"
        )
    )
    jwks = json.loads((await auth.stub.GetJwks(pb.GetJwksRequest())).json)
    assert all("d" not in key for key in jwks["keys"])  # public halves only
    principal = TokenVerifier(jwks, "trackcc", "trackcc-api").verify(tokens.access_token)
    assert principal.user_id == account.id
    assert principal.session_id == tokens.session_id
    assert principal.role == "teacher"
    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert 0 < claims["exp"] - claims["iat"] <= 900
    assert tokens.expires_in == claims["exp"] - claims["iat"]
    assert tokens.account.id == account.id

    # The refresh token is 256 random bits, stored only as its sha256.
    assert len(tokens.refresh_token) >= 43
    connection = await asyncpg.connect(auth.database.runtime_dsn("auth"))
    try:
        session = await connection.fetchrow(
            "SELECT * FROM sessions WHERE id = $1", uuid.UUID(tokens.session_id)
        )
    finally:
        await connection.close()
    assert session is not None
    assert session["refresh_token_hash"] == hashlib.sha256(tokens.refresh_token.encode()).digest()
    assert tokens.refresh_token not in repr(dict(session))
    assert session["user_agent"] == "t/1"
    assert session["revoked_at"] is None


async def test_wrong_password_and_unknown_email_answer_alike(auth: RunningAuth) -> None:
    await auth.stub.CreateAccount(_signup())
    wrong = await failure_of(
        auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=PASSWORD + "!"))
    )
    unknown = await failure_of(
        auth.stub.CreateSession(
            pb.CreateSessionRequest(email="nobody@example.org", password=PASSWORD)
        )
    )
    for failure in (wrong, unknown):
        assert failure.code == grpc.StatusCode.UNAUTHENTICATED
        assert failure.reason == "invalid_credentials"
    assert wrong.message == unknown.message
    assert (await _account_row(auth))["failed_attempts"] == 1

    await auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=PASSWORD))
    assert (await _account_row(auth))["failed_attempts"] == 0

    text = await _metrics(auth)
    assert 'trackcc_auth_logins_total{result="success"} 1.0' in text
    assert 'trackcc_auth_logins_total{result="invalid_credentials"} 2.0' in text
    assert 'trackcc_password_hash_seconds_count{operation="verify"} 3.0' in text
    assert 'trackcc_password_hash_seconds_count{operation="hash"} 1.0' in text


async def test_get_account_needs_a_live_session(auth: RunningAuth) -> None:
    await auth.stub.CreateAccount(_signup(display_name="Ms. A"))
    tokens = await auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=PASSWORD))

    me = await auth.stub.GetAccount(pb.GetAccountRequest(), metadata=_bearer(tokens.access_token))
    assert me.email == EMAIL
    assert me.display_name == "Ms. A"

    missing = await failure_of(auth.stub.GetAccount(pb.GetAccountRequest()))
    assert missing.code == grpc.StatusCode.UNAUTHENTICATED
    forged = await failure_of(
        auth.stub.GetAccount(pb.GetAccountRequest(), metadata=_bearer(tokens.access_token + "x"))
    )
    assert (forged.code, forged.reason) == (grpc.StatusCode.UNAUTHENTICATED, "invalid_token")

    await _execute(
        auth,
        "UPDATE sessions SET revoked_at = now() WHERE id = $1",
        uuid.UUID(tokens.session_id),
    )
    revoked = await failure_of(
        auth.stub.GetAccount(pb.GetAccountRequest(), metadata=_bearer(tokens.access_token))
    )
    assert (revoked.code, revoked.reason) == (grpc.StatusCode.UNAUTHENTICATED, "invalid_token")


async def test_password_is_stored_only_as_an_argon2id_hash(auth: RunningAuth) -> None:
    await auth.stub.CreateAccount(_signup())
    row = await _account_row(auth)
    assert row["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert all(PASSWORD not in str(value) for value in row.values())


async def test_an_outdated_hash_is_upgraded_at_sign_in(auth: RunningAuth) -> None:
    await auth.stub.CreateAccount(_signup())
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    await _execute(
        auth, "UPDATE accounts SET password_hash = $1 WHERE email = $2", old.hash(PASSWORD), EMAIL
    )
    await auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=PASSWORD))
    upgraded = (await _account_row(auth))["password_hash"]
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    await auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=PASSWORD))


async def test_concurrent_signups_with_one_email_let_exactly_one_win(auth: RunningAuth) -> None:
    calls = [
        auth.stub.CreateAccount(_signup(email=email))
        for email in (EMAIL, EMAIL.upper(), f" {EMAIL}")
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    created = [r for r in results if isinstance(r, pb.Account)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(created) == 1
    assert [r.code() for r in refused] == [grpc.StatusCode.ALREADY_EXISTS] * 2


async def test_an_overlong_password_is_refused_without_hashing(auth: RunningAuth) -> None:
    overlong = "violet tundra " * 20
    signup = await failure_of(auth.stub.CreateAccount(_signup(password=overlong)))
    assert signup.code == grpc.StatusCode.INVALID_ARGUMENT
    assert signup.field_violations == [("password", "must be at most 256 characters")]
    sign_in = await failure_of(
        auth.stub.CreateSession(pb.CreateSessionRequest(email=EMAIL, password=overlong))
    )
    assert sign_in.reason == "invalid_credentials"
    assert "trackcc_password_hash_seconds_count" not in await _metrics(auth)
