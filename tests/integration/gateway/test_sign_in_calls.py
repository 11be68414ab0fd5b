"""A sign-in through the gateway is one gRPC call to auth, whatever its outcome: the hop is a
large share of a sign-in's CPU outside the hash (issue 15), so a second call must not creep in.
Counted by auth's own ``grpc_server_handled_total``, scraped from its metrics port."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    AuthStack,
    auth_stack,
    new_email,
    new_user,
    sign_in,
    sign_in_response,
)

AUTH_SERVICE = "trackcc.auth.v1.AuthService"


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    async with auth_stack(pg_endpoint, pki, tmp_path_factory.mktemp("sign-in-calls")) as running:
        yield running


async def _auth_calls(stack: AuthStack) -> Counter[str]:
    """AuthService calls auth has completed so far, by method (health checks left out)."""
    url = f"http://127.0.0.1:{stack.auth.metrics_port}/metrics"
    async with aiohttp.ClientSession() as plain, plain.get(url) as response:
        assert response.status == 200
        text = await response.text()
    calls: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "grpc_server_handled_total"
                and sample.labels["grpc_service"] == AUTH_SERVICE
            ):
                calls[sample.labels["grpc_method"]] += int(sample.value)
    return calls


async def test_each_sign_in_is_exactly_one_call_to_auth(stack: AuthStack) -> None:
    address, _ = await new_user(stack, "one-call")
    before = await _auth_calls(stack)
    await sign_in(stack, address)
    await asyncio.gather(*(sign_in(stack, address) for _ in range(4)))
    status, _ = await sign_in_response(stack, address, "not the password at all 9")
    assert status == 401
    status, _ = await sign_in_response(stack, new_email("nobody"), "not the password at all 9")
    assert status == 401
    after = await _auth_calls(stack)
    assert after - before == Counter({"CreateSession": 7})
