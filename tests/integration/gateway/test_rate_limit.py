"""The per-address limit on sign-in, sign-up, forgot-password and unlock requests."""

from __future__ import annotations

import uuid

import pytest

from services.common.devcerts import DevPki
from tests.integration.gateway.conftest import Backends
from tests.integration.gateway.test_ops import problem_of
from tests.support.gateway import RunningGateway, gateway_env, running_gateway


async def test_calls_past_the_limit_are_429_with_retry_after(
    backends: Backends, pki: DevPki
) -> None:
    env = gateway_env(
        pki,
        backends.keys.jwks_file,
        backends.targets(),
        {"TRACKCC_RATE_LIMIT_PER_MINUTE": "3"},
    )
    body = {"email": "nobody@example.org", "password": "whatever it is"}
    async with running_gateway(env, pki) as gateway:
        for _ in range(2):
            async with gateway.http.post("/v1/sessions", json=body) as response:
                assert response.status == 401
        # The limit is shared by the limited routes: forgot-password counts too.
        async with gateway.http.post("/v1/password/forgot", json={"email": "a@b.org"}) as response:
            assert response.status != 429
        async with gateway.http.post("/v1/sessions", json=body) as response:
            await problem_of(response, 429, "rate_limited")
            assert 1 <= int(response.headers["Retry-After"]) <= 60
        # Routes without the limit still answer.
        async with gateway.http.get("/healthz") as response:
            assert response.status == 200


SIGN_UP = "/v1/accounts"
UNLOCK_REQUEST = "/v1/unlock-requests"


def _body(path: str, address: str) -> dict[str, str]:
    if path == SIGN_UP:
        return {"email": address, "password": "violet tundra marmalade 47", "role": "teacher"}
    return {"token": "A" * 43}  # names no request: 400, but it still counts


@pytest.mark.parametrize(("path", "answer"), [(SIGN_UP, 201), (UNLOCK_REQUEST, 400)])
async def test_sign_up_and_unlock_requests_past_the_limit_are_429(
    backends: Backends, pki: DevPki, gateway: RunningGateway, path: str, answer: int
) -> None:
    env = gateway_env(
        pki,
        backends.keys.jwks_file,
        backends.targets(),
        {"TRACKCC_RATE_LIMIT_PER_MINUTE": "2"},
    )
    addresses = [f"limited-{uuid.uuid4().hex[:10]}@example.org" for _ in range(3)]
    async with running_gateway(env, pki) as limited:
        for address in addresses[:2]:
            async with limited.http.post(path, json=_body(path, address)) as response:
                assert response.status == answer, await response.text()
        async with limited.http.post(path, json=_body(path, addresses[2])) as response:
            await problem_of(response, 429, "rate_limited")
            assert 1 <= int(response.headers["Retry-After"]) <= 60
    if path == SIGN_UP:
        # The refused call did nothing: the address is still free (through a gateway whose
        # limit is high).
        async with gateway.http.post(path, json=_body(path, addresses[2])) as response:
            assert response.status == 201, await response.text()
