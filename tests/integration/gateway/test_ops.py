"""Operations, security headers, request ids and the problem+json error paths."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import uuid
from typing import Any

import aiohttp
import pytest

from services.common.devcerts import DevPki
from services.roster.service import DEFINITION as ROSTER
from tests.support.backends import Backends, roster_extra
from tests.support.gateway import RunningGateway, gateway_env, running_gateway, wait_ready
from tests.support.http_checks import assert_security_headers, problem_of
from tests.support.services import service_env, started_service


async def test_healthz(gateway: RunningGateway) -> None:
    async with gateway.http.get("/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}
        assert_security_headers(response)


async def test_robots_txt(gateway: RunningGateway) -> None:
    async with gateway.http.get("/robots.txt") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.text() == "User-agent: *\nDisallow: /\n"
        assert_security_headers(response)


async def test_readyz_with_every_service_up(gateway: RunningGateway) -> None:
    async with gateway.http.get("/readyz") as response:
        assert response.status == 200
        body = await response.json()
    assert body["services"] == {"auth": "serving", "roster": "serving", "sharing": "serving"}


async def test_readyz_answers_503_once_a_service_stops(backends: Backends, pki: DevPki) -> None:
    async with contextlib.AsyncExitStack() as stack:
        roster = await stack.enter_async_context(
            started_service(
                ROSTER,
                service_env(
                    ROSTER, backends.database, pki, backends.keys, roster_extra(backends.sharing)
                ),
            )
        )
        targets = backends.targets() | {"roster": roster.target}
        env = gateway_env(pki, backends.keys.jwks_file, targets)
        async with running_gateway(env, pki) as gateway:
            await wait_ready(gateway)
            await stack.aclose()  # stops roster only
            async with gateway.http.get("/readyz") as response:
                body = await problem_of(response, 503, "unavailable")
            assert body["services"]["roster"] == "not_serving"
            assert body["services"]["auth"] == "serving"


async def test_request_id_is_echoed_when_valid(gateway: RunningGateway) -> None:
    async with gateway.http.get("/healthz", headers={"X-Request-Id": "abc-123.x"}) as response:
        assert response.headers["X-Request-Id"] == "abc-123.x"


@pytest.mark.parametrize("incoming", [None, "bad id with spaces", "x" * 200, "a\tb"])
async def test_request_id_is_generated_otherwise(
    gateway: RunningGateway, incoming: str | None
) -> None:
    headers = {} if incoming is None else {"X-Request-Id": incoming}
    async with gateway.http.get("/v1/nowhere", headers=headers) as response:
        generated = response.headers["X-Request-Id"]
    assert generated != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


async def test_unknown_path_is_404_problem(gateway: RunningGateway) -> None:
    async with gateway.http.get("/v1/no-such-thing") as response:
        await problem_of(response, 404, "not_found")


async def test_wrong_method_is_405_problem_with_allow(gateway: RunningGateway) -> None:
    async with gateway.http.put("/v1/sessions") as response:
        await problem_of(response, 405, "method_not_allowed")
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "DELETE"}


@pytest.mark.parametrize("path", ["/healthz", "/v1/me", "/v1/nowhere"])
async def test_trace_is_refused(gateway: RunningGateway, path: str) -> None:
    async with gateway.http.request("TRACE", path) as response:
        body = await problem_of(response, 405, "method_not_allowed")
        assert "Allow" in response.headers
    assert "TRACE" not in response.headers["Allow"]
    assert body["code"] == "method_not_allowed"


async def test_oversized_body_is_413_problem(gateway: RunningGateway) -> None:
    big = {"email": "a@example.org", "password": "x" * 70_000, "role": "teacher"}
    async with gateway.http.post("/v1/accounts", json=big) as response:
        await problem_of(response, 413, "payload_too_large")


async def test_oversized_chunked_body_is_413_problem(gateway: RunningGateway) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 8192

    headers = {"Content-Type": "application/json"}
    async with gateway.http.post("/v1/sessions", data=chunks(), headers=headers) as response:
        await problem_of(response, 413, "payload_too_large")


async def test_wrong_content_type_is_415_problem(gateway: RunningGateway) -> None:
    async with gateway.http.post(
        "/v1/sessions", data="email=a&password=b", headers={"Content-Type": "text/plain"}
    ) as response:
        await problem_of(response, 415, "unsupported_media_type")


async def test_malformed_json_is_400_problem(gateway: RunningGateway) -> None:
    async with gateway.http.post(
        "/v1/sessions", data=b'{"email": ', headers={"Content-Type": "application/json"}
    ) as response:
        await problem_of(response, 400, "malformed_json")


async def test_unknown_field_is_422_listing_the_field(gateway: RunningGateway) -> None:
    body = {"email": "a@example.org", "password": "pw", "is_admin": True}
    async with gateway.http.post("/v1/sessions", json=body) as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert problem["errors"] == [{"field": "is_admin", "message": "is not a known field"}]


async def test_protected_route_without_token_is_401(gateway: RunningGateway) -> None:
    async with gateway.http.get("/v1/sessions") as response:
        await problem_of(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    headers = {"Authorization": "Bearer not.a.jwt"}
    async with gateway.http.get("/v1/sessions", headers=headers) as response:
        await problem_of(response, 401, "invalid_token")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_metrics_are_on_their_own_port_with_route_templates(
    gateway: RunningGateway,
) -> None:
    session_id = str(uuid.uuid4())
    async with gateway.http.delete(f"/v1/sessions/{session_id}") as response:
        assert response.status == 401
    async with gateway.http.get("/metrics") as response:
        await problem_of(response, 404, "not_found")
    async with aiohttp.ClientSession() as plain, plain.get(gateway.metrics_url) as response:
        text = await response.text()
    assert "http_server_request_duration_seconds_bucket" in text
    assert 'route="/v1/sessions/{id}"' in text
    assert 'route="unmatched"' in text
    assert session_id not in text


async def test_plain_http_is_not_served_on_the_https_port(gateway: RunningGateway) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(1024), 5)
    except ConnectionResetError:
        answer = b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()
    assert b"HTTP/" not in answer


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.MAXIMUM_SUPPORTED, "TLSv1.3")],
)
async def test_tls_1_2_and_1_3_are_served(
    gateway: RunningGateway, maximum: ssl.TLSVersion, expected: str
) -> None:
    context = ssl.create_default_context(cafile=str(gateway.ca))
    context.maximum_version = maximum
    _, writer = await asyncio.open_connection(
        "localhost", gateway.port, ssl=context, server_hostname="localhost"
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        assert ssl_object.version() == expected
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()
