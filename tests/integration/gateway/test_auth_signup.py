"""Sign-up, the password policy, email verification, the profile and the JWK set, through the
gateway against real auth, PostgreSQL and the SMTP sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    PASSWORD,
    VERIFY_SUBJECT,
    AuthStack,
    auth_stack,
    new_email,
    new_user,
    sign_in,
    sign_up,
    wait_for_mail,
)
from tests.support.http_checks import problem_of


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    async with auth_stack(pg_endpoint, pki, tmp_path_factory.mktemp("auth-signup")) as running:
        yield running


async def _signup_problem(stack: AuthStack, body: dict[str, Any], code: str) -> dict[str, Any]:
    async with stack.http.post("/v1/accounts", json=body) as response:
        problem = await problem_of(response, 422, code)
        raw = await response.text()
    # Whatever went wrong, the answer never repeats the password.
    password = body.get("password")
    if isinstance(password, str) and len(password) >= 8:
        assert password not in raw
    return problem


def _fields(problem: dict[str, Any]) -> set[str]:
    return {error["field"] for error in problem["errors"]}


async def test_invalid_signups_are_422_naming_each_field(stack: AuthStack) -> None:
    body = {"email": "not-an-address", "password": PASSWORD, "role": "pirate"}
    problem = await _signup_problem(stack, body, "validation_failed")
    assert _fields(problem) == {"email", "role"}
    problem = await _signup_problem(stack, {"email": new_email()}, "validation_failed")
    assert _fields(problem) == {"password", "role"}
    future = {"email": new_email(), "password": PASSWORD, "role": "teacher"}
    problem = await _signup_problem(
        stack, future | {"birth_date": "2999-01-01"}, "validation_failed"
    )
    assert _fields(problem) == {"birth_date"}
    # No mass assignment: a field the API does not have is refused, not ignored.
    problem = await _signup_problem(stack, future | {"email_verified": True}, "validation_failed")
    assert "email_verified" in str(problem["errors"])


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password123", "guess"),
        # zxcvbn estimates it under 10^8 guesses (docs/api.md names it).
        ("Tr0ub4dour&3", "guess"),
        ("{local} plum orchard 61", "email"),
        ("Trackcc plum orchard 61", "trackcc"),
        ("x9!Lq", "8"),
    ],
)
async def test_weak_passwords_are_422_saying_why_with_the_score(
    stack: AuthStack, password: str, why: str
) -> None:
    address = new_email("weak")
    chosen = password.format(local=address.partition("@")[0])
    body = {"email": address, "password": chosen, "role": "guardian"}
    problem = await _signup_problem(stack, body, "weak_password")
    assert why in problem["detail"].lower()
    assert isinstance(problem["score"], int) and 0 <= problem["score"] <= 4
    assert _fields(problem) == {"password"}
    # Nothing was created: the address is still free.
    await sign_up(stack, address)


@pytest.mark.parametrize("password", ["q7#Lm2Wz", "k9$Vx2pQ"])
async def test_eight_random_characters_are_a_password(stack: AuthStack, password: str) -> None:
    # zxcvbn puts these at exactly 10^8 guesses: not guessable, so the minimum length works.
    address = new_email("eight")
    await sign_up(stack, address, password=password)
    await sign_in(stack, address, password=password)


async def test_password_length_limit_is_256_and_unicode_is_normalized(stack: AuthStack) -> None:
    too_long = ("quiet meadow lantern " * 13)[:257]
    body = {"email": new_email(), "password": too_long, "role": "teacher"}
    problem = await _signup_problem(stack, body, "validation_failed")
    assert _fields(problem) == {"password"}

    # 256 characters, spaces included, are accepted and never truncated.
    longest = too_long[:256]
    address = new_email("long")
    await sign_up(stack, address, password=longest)
    await sign_in(stack, address, password=longest)
    async with stack.http.post(
        "/v1/sessions", json={"email": address, "password": longest[:255]}
    ) as response:
        await problem_of(response, 401, "invalid_credentials")

    # NFKC: fullwidth letters typed on one keyboard match plain ones typed on another.
    address = new_email("nfkc")
    await sign_up(stack, address, password="ｖｉｏｌｅｔ tundra marmalade 47")
    await sign_in(stack, address, password="violet tundra marmalade 47")


async def test_a_taken_email_is_409_in_any_letter_case(stack: AuthStack) -> None:
    address = new_email("taken")
    await sign_up(stack, address)
    body = {"email": address.upper(), "password": PASSWORD, "role": "student"}
    async with stack.http.post("/v1/accounts", json=body) as response:
        problem = await problem_of(response, 409, "email_taken")
    assert _fields(problem) == {"email"}


async def test_the_verification_mail_link_verifies_the_email_once(stack: AuthStack) -> None:
    address, session = await new_user(stack, "verify")
    assert session.account["email_verified"] is False
    mail = await wait_for_mail(stack, address, VERIFY_SUBJECT)
    assert PASSWORD not in mail.body
    token = mail.token("/verify")
    async with stack.http.post("/v1/accounts/verify", json={"token": token}) as response:
        assert response.status == 204
        assert await response.read() == b""
    async with stack.http.get("/v1/me", headers=session.headers) as response:
        assert (await response.json())["email_verified"] is True
    for used_or_forged in (token, token[:-2] + "xx"):
        body = {"token": used_or_forged}
        async with stack.http.post("/v1/accounts/verify", json=body) as response:
            await problem_of(response, 400, "invalid_token")


async def test_profile_patch_sets_clears_and_refuses_unknown_fields(stack: AuthStack) -> None:
    _, session = await new_user(stack, "profile")
    headers = session.headers

    async def patch(body: dict[str, Any]) -> dict[str, Any]:
        async with stack.http.patch("/v1/me", json=body, headers=headers) as response:
            assert response.status == 200, await response.text()
            account: dict[str, Any] = await response.json()
        return account

    profile = {"display_name": "Mr. P", "birth_date": "1990-02-03", "gender": "m"}
    account = await patch(profile)
    assert {name: account[name] for name in profile} == profile
    # One rule for every PATCH: an empty body names no field and is refused, changing nothing.
    async with stack.http.patch("/v1/me", json={}, headers=headers) as response:
        await problem_of(response, 422, "validation_failed")
    cleared = await patch({"gender": None, "display_name": "P."})
    assert cleared["gender"] is None and cleared["display_name"] == "P."
    assert cleared["birth_date"] == "1990-02-03"  # not in the body: untouched
    for body in ({"email": "other@example.org"}, {"role": "support"}, {"birth_date": "1990-13-01"}):
        async with stack.http.patch("/v1/me", json=body, headers=headers) as response:
            await problem_of(response, 422, "validation_failed")
    async with stack.http.get("/v1/me", headers=headers) as response:
        assert await response.json() == cleared


async def test_access_tokens_verify_against_the_served_jwks(stack: AuthStack) -> None:
    _, session = await new_user(stack, "jwks")
    async with stack.http.get("/.well-known/jwks.json") as response:
        assert response.status == 200
        document = await response.json()
    assert all("d" not in key for key in document["keys"])  # public halves only
    token = session.tokens["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] in ("EdDSA", "ES256") and header["kid"]
    key = jwt.PyJWKSet.from_dict(document)[header["kid"]]
    claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience="trackcc-api")
    assert claims["sub"] == session.account["id"] and claims["sid"] == session.id
    assert claims["iss"] == "trackcc"
    assert 0 < claims["exp"] - claims["iat"] <= 15 * 60
    assert session.tokens["expires_in"] <= 15 * 60
