"""The per-address limit on sign-in, sign-up, forgot-password and unlock requests."""

from __future__ import annotations

import uuid

import pytest

from services.common.devcerts import DevPki
from tests.support.backends import Backends
from tests.support.gateway import RunningGateway, gateway_env, running_gateway
from tests.support.http_checks import problem_of


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


async def _sign_in_statuses(
    gateway: RunningGateway, forwarded_for: list[str], header: str = "X-Forwarded-For"
) -> list[int]:
    body = {"email": "nobody@example.org", "password": "whatever it is"}
    statuses = []
    for client in forwarded_for:
        async with gateway.http.post(
            "/v1/sessions", json=body, headers={header: client}
        ) as response:
            statuses.append(response.status)
    return statuses


async def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(
    backends: Backends, pki: DevPki
) -> None:
    # The test client connects from 127.0.0.1: here it plays the Ingress controller.
    env = gateway_env(
        pki,
        backends.keys.jwks_file,
        backends.targets(),
        {"TRACKCC_RATE_LIMIT_PER_MINUTE": "2", "TRACKCC_GATEWAY_TRUSTED_PROXIES": "127.0.0.0/8"},
    )
    async with running_gateway(env, pki) as gateway:
        # Two clients behind the proxy: two each, then the third of each is limited.
        assert await _sign_in_statuses(gateway, ["203.0.113.7", "203.0.113.8"] * 2) == [401] * 4
        assert await _sign_in_statuses(gateway, ["203.0.113.7"]) == [429]
        # Forwarded (RFC 7239) names clients the same way.
        assert await _sign_in_statuses(
            gateway, ['for="[2001:db8::9]:4711"'] * 3, header="Forwarded"
        ) == [401, 401, 429]
        # A client cannot escape its bucket by writing addresses on the left: the proxy
        # appended the address it saw, and that one counts.
        spoofed = ["198.51.100.1, 203.0.113.8", "198.51.100.2, 203.0.113.8"]
        assert await _sign_in_statuses(gateway, spoofed) == [429, 429]


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    backends: Backends, pki: DevPki
) -> None:
    env = gateway_env(
        pki,
        backends.keys.jwks_file,
        backends.targets(),
        # Some other range: this peer is not a proxy, so its headers say nothing.
        {"TRACKCC_RATE_LIMIT_PER_MINUTE": "2", "TRACKCC_GATEWAY_TRUSTED_PROXIES": "10.9.8.0/24"},
    )
    async with running_gateway(env, pki) as gateway:
        statuses = await _sign_in_statuses(gateway, ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
        assert statuses == [401, 401, 429]
