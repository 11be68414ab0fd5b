"""Sign-up, sign-in and the caller's account through the gateway against the real auth service."""

from __future__ import annotations

import uuid

import jwt

from tests.support.gateway import RunningGateway
from tests.support.gateway_accounts import PASSWORD, sign_in, sign_up, unique_email
from tests.support.http_checks import assert_security_headers, problem_of


async def test_sign_up_answers_201_with_the_account(gateway: RunningGateway) -> None:
    email = unique_email()
    account = await sign_up(gateway, email)
    assert set(account) == {
        "id",
        "email",
        "role",
        "display_name",
        "birth_date",
        "gender",
        "email_verified",
        "photo_url",
        "created_at",
    }
    assert account["email"] == email
    assert account["role"] == "teacher"
    assert account["display_name"] == "Ms. K"
    assert account["birth_date"] is None
    assert account["photo_url"] is None
    assert account["email_verified"] is False
    assert account["created_at"].endswith("Z")
    uuid.UUID(account["id"])


async def test_duplicate_sign_up_is_409_email_taken(gateway: RunningGateway) -> None:
    email = unique_email()
    await sign_up(gateway, email)
    body = {"email": email, "password": PASSWORD, "role": "guardian"}
    async with gateway.http.post("/v1/accounts", json=body) as response:
        await problem_of(response, 409, "email_taken")


async def test_sign_up_with_an_unknown_role_is_422(gateway: RunningGateway) -> None:
    body = {"email": unique_email(), "password": PASSWORD, "role": "support"}
    async with gateway.http.post("/v1/accounts", json=body) as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert [error["field"] for error in problem["errors"]] == ["role"]


async def test_too_long_password_is_422_without_echoing_it(gateway: RunningGateway) -> None:
    secret = "s" * 257
    body = {"email": unique_email(), "password": secret, "role": "teacher"}
    async with gateway.http.post("/v1/accounts", json=body) as response:
        problem = await problem_of(response, 422, "validation_failed")
        raw = await response.text()
    assert problem["errors"][0]["field"] == "password"
    assert secret not in raw


async def test_sign_in_returns_tokens_and_the_token_reads_me(gateway: RunningGateway) -> None:
    email = unique_email()
    account = await sign_up(gateway, email)
    tokens = await sign_in(gateway, email)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] > 0
    assert tokens["refresh_token"]
    assert tokens["account"]["id"] == account["id"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sid"] == tokens["session_id"]

    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with gateway.http.get("/v1/me", headers=headers) as response:
        assert response.status == 200
        assert_security_headers(response)
        me = await response.json()
    assert me == account | {"email_verified": me["email_verified"]}


async def test_me_without_a_token_is_401(gateway: RunningGateway) -> None:
    async with gateway.http.get("/v1/me") as response:
        await problem_of(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_wrong_password_is_401_invalid_credentials(gateway: RunningGateway) -> None:
    email = unique_email()
    await sign_up(gateway, email)
    body = {"email": email, "password": "not the password at all"}
    async with gateway.http.post("/v1/sessions", json=body) as response:
        await problem_of(response, 401, "invalid_credentials")


async def test_session_list_checks_page_size(gateway: RunningGateway) -> None:
    email = unique_email()
    await sign_up(gateway, email)
    tokens = await sign_in(gateway, email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with gateway.http.get("/v1/sessions?page_size=500", headers=headers) as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert problem["errors"] == [
        {"field": "page_size", "message": "must be an integer from 1 to 200"}
    ]
    async with gateway.http.get("/v1/sessions", headers=headers) as response:
        assert response.status in (200, 501)


async def test_jwks_serves_the_public_keys(gateway: RunningGateway) -> None:
    async with gateway.http.get("/.well-known/jwks.json") as response:
        assert response.status == 200
        assert_security_headers(response)
        document = await response.json()
    assert document["keys"]
    assert all(key["kty"] == "OKP" and "d" not in key for key in document["keys"])


async def test_support_routes_refuse_other_roles(gateway: RunningGateway) -> None:
    email = unique_email()
    await sign_up(gateway, email)
    tokens = await sign_in(gateway, email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with gateway.http.get("/v1/admin/accounts?locked=true", headers=headers) as response:
        await problem_of(response, 403, "forbidden")
