"""Unexpected failures answer problem+json with the security headers, never a traceback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from services.gateway.middlewares import (
    SECURITY_HEADERS,
    add_security_headers,
    error_middleware,
    make_observe_middleware,
    request_id_middleware,
)


async def _crash(request: web.Request) -> web.Response:
    raise RuntimeError("database password is hunter2")


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application(
        middlewares=[
            request_id_middleware,
            make_observe_middleware(CollectorRegistry()),
            error_middleware,
        ]
    )
    app.router.add_get("/crash", _crash)
    app.on_response_prepare.append(add_security_headers)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_unhandled_exception_is_500_problem_without_details(
    client: TestClient[web.Request, web.Application],
) -> None:
    async with client.get("/crash", headers={"X-Request-Id": "r-1"}) as response:
        assert response.status == 500
        assert response.content_type == "application/problem+json"
        text = await response.text()
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert response.headers["X-Request-Id"] == "r-1"
    assert "hunter2" not in text
    assert "Traceback" not in text
    assert json.loads(text)["code"] == "internal"


async def test_a_handler_may_set_only_cache_control_and_csp_of_the_security_headers() -> None:
    async def photo(request: web.Request) -> web.Response:
        return web.Response(
            body=b"img",
            headers={
                "Cache-Control": "private",
                "Content-Security-Policy": "script-src 'self'",
                "X-Content-Type-Options": "sniff",
            },
        )

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/photo", photo)
    app.router.add_get("/crash", _crash)
    app.on_response_prepare.append(add_security_headers)
    async with TestClient(TestServer(app)) as test_client:
        async with test_client.get("/photo") as response:
            assert response.headers["Cache-Control"] == "private"
            assert response.headers["Content-Security-Policy"] == "script-src 'self'"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        async with test_client.get("/crash") as response:
            assert response.headers["Cache-Control"] == "no-store"
            assert (
                response.headers["Content-Security-Policy"]
                == SECURITY_HEADERS["Content-Security-Policy"]
            )
