"""The per-address limit on sign-in, sign-up, forgot-password and unlock requests."""

from __future__ import annotations

from services.common.devcerts import DevPki
from tests.integration.gateway.conftest import Backends
from tests.integration.gateway.test_ops import problem_of
from tests.support.gateway import gateway_env, running_gateway


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
