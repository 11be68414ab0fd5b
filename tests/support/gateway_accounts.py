"""Accounts made through the gateway's public routes: a fresh address, sign-up and sign-in."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.gateway import RunningGateway
from tests.support.http_checks import assert_security_headers

PASSWORD = "correct horse battery staple 42"


def unique_email() -> str:
    return f"t-{uuid.uuid4().hex[:10]}@example.org"


async def sign_up(gateway: RunningGateway, email: str) -> dict[str, Any]:
    body = {"email": email, "password": PASSWORD, "role": "teacher", "display_name": "Ms. K"}
    async with gateway.http.post("/v1/accounts", json=body) as response:
        assert response.status == 201, await response.text()
        assert_security_headers(response)
        account: dict[str, Any] = await response.json()
    return account


async def sign_in(gateway: RunningGateway, email: str) -> dict[str, Any]:
    body = {"email": email, "password": PASSWORD}
    headers = {"User-Agent": "gateway-tests/1"}
    async with gateway.http.post("/v1/sessions", json=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        tokens: dict[str, Any] = await response.json()
    return tokens
