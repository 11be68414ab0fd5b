"""Small contract slips (issue 11, item 9): a 405 lists exactly the route's methods, and a bad
page token on /v1/sessions is ``400 invalid_page_token`` like on every other list."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.gateway import RunningGateway
from tests.support.http_checks import problem_of
from tests.support.roster_calls import new_user


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        # Also matches /v1/invitations/{id} (DELETE), which is not this route.
        ("GET", "/v1/invitations/accept", {"POST"}),
        ("PUT", "/v1/invitations/decline", {"POST"}),
        ("PUT", "/v1/sessions", {"GET", "HEAD", "POST", "DELETE"}),
        ("POST", "/v1/sessions/current", {"DELETE"}),
        ("PATCH", "/v1/me/photo", {"GET", "HEAD", "PUT", "DELETE"}),
        ("TRACE", "/v1/invitations/accept", {"POST"}),
    ],
)
async def test_a_405_lists_exactly_the_routes_methods(
    gateway: RunningGateway, method: str, path: str, allowed: set[str]
) -> None:
    async with gateway.http.request(method, path) as response:
        await problem_of(response, 405, "method_not_allowed")
        assert set(response.headers["Allow"].split(", ")) == allowed


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        base64.urlsafe_b64encode(json.dumps(["x", "y"]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00", "\u00b2"]).encode()).decode(),
    ],
)
async def test_a_bad_session_page_token_is_400(gateway: RunningGateway, token: str) -> None:
    user = await new_user(gateway)
    async with gateway.http.get(
        "/v1/sessions", params={"page_token": token}, headers=user.headers
    ) as response:
        await problem_of(response, 400, "invalid_page_token")
