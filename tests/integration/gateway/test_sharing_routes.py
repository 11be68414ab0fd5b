"""The sharing routes' own duties: authentication, request validation, ids, documentation.

Everything here is decided by the gateway before (or instead of) calling sharing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.gateway import RunningGateway
from tests.support.gateway_accounts import sign_in, sign_up, unique_email
from tests.support.http_checks import problem_of

RESOURCE = str(uuid.uuid4())
INVITE = {"email": "guardian@example.org", "relation": "viewer", "role": "guardian"}

# Every row of docs/api.md's sharing table: method, path, JSON body (None for no body).
SHARING_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", f"/v1/classes/{RESOURCE}/invitations", INVITE),
    ("POST", f"/v1/students/{RESOURCE}/invitations", INVITE),
    ("GET", "/v1/invitations?direction=sent", None),
    ("GET", "/v1/invitations?direction=received", None),
    ("POST", "/v1/invitations/accept", {"token": "t"}),
    ("POST", "/v1/invitations/decline", {"token": "t"}),
    ("POST", f"/v1/invitations/{RESOURCE}/resend", None),
    ("DELETE", f"/v1/invitations/{RESOURCE}", None),
    ("GET", f"/v1/classes/{RESOURCE}/grants", None),
    ("GET", f"/v1/students/{RESOURCE}/grants", None),
    ("GET", f"/v1/classes/{RESOURCE}/access-log", None),
    ("GET", f"/v1/students/{RESOURCE}/access-log", None),
    ("DELETE", f"/v1/grants/{RESOURCE}", None),
    ("GET", "/v1/shared-with-me", None),
]


@pytest.fixture(scope="module")
async def auth_headers(gateway: RunningGateway) -> dict[str, str]:
    email = unique_email()
    await sign_up(gateway, email)
    tokens = await sign_in(gateway, email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.mark.parametrize(("method", "path", "body"), SHARING_ROUTES)
async def test_every_sharing_route_requires_a_token(
    gateway: RunningGateway, method: str, path: str, body: dict[str, Any] | None
) -> None:
    async with gateway.http.request(method, path, json=body) as response:
        await problem_of(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"relation": "owner"}, "relation", "must be one of: viewer, editor"),
        ({"role": "parent"}, "role", "must be one of: guardian, advisor, student, teacher"),
        ({"email": "not-an-address"}, "email", "must be a valid email"),
        ({"message": "x" * 1001}, "message", "must be at most 1000 characters long"),
        ({"grant_expires_at": _in(-1)}, "grant_expires_at", "must be in the future"),
        ({"grant_expires_at": "2030-01-01"}, "grant_expires_at", "has an invalid format"),
        ({"grant_expires_at": "2030-02-30T00:00:00Z"}, "grant_expires_at", "must be a valid "),
        ({"is_owner": True}, "is_owner", "is not a known field"),
    ],
)
async def test_invitation_bodies_are_validated(
    gateway: RunningGateway,
    auth_headers: dict[str, str],
    change: dict[str, Any],
    field: str,
    message: str,
) -> None:
    body = INVITE | change
    path = f"/v1/classes/{RESOURCE}/invitations"
    async with gateway.http.post(path, json=body, headers=auth_headers) as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert [error["field"] for error in problem["errors"]] == [field]
    assert problem["errors"][0]["message"].startswith(message)


async def test_missing_invitation_fields_are_listed(
    gateway: RunningGateway, auth_headers: dict[str, str]
) -> None:
    path = f"/v1/students/{RESOURCE}/invitations"
    async with gateway.http.post(path, json={}, headers=auth_headers) as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert problem["errors"] == [
        {"field": name, "message": "is required"} for name in ("email", "relation", "role")
    ]


@pytest.mark.parametrize("query", ["", "?direction=all", "?direction=sent&page_size=0"])
async def test_invitation_list_checks_its_query(
    gateway: RunningGateway, auth_headers: dict[str, str], query: str
) -> None:
    async with gateway.http.get(f"/v1/invitations{query}", headers=auth_headers) as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert {error["field"] for error in problem["errors"]} <= {"direction", "page_size"}


@pytest.mark.parametrize("path", ["/v1/invitations/accept", "/v1/invitations/decline"])
@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": "t", "email": "x@example.org"}])
async def test_token_bodies_are_validated(
    gateway: RunningGateway, auth_headers: dict[str, str], path: str, body: dict[str, Any]
) -> None:
    async with gateway.http.post(path, json=body, headers=auth_headers) as response:
        await problem_of(response, 422, "validation_failed")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/classes/not-a-uuid/grants"),
        ("GET", "/v1/students/42/access-log"),
        ("DELETE", "/v1/grants/nope"),
        ("DELETE", "/v1/invitations/nope"),
        ("POST", "/v1/invitations/nope/resend"),
    ],
)
async def test_an_id_that_is_not_a_uuid_names_nothing(
    gateway: RunningGateway, auth_headers: dict[str, str], method: str, path: str
) -> None:
    async with gateway.http.request(method, path, headers=auth_headers) as response:
        await problem_of(response, 404, "not_found")


async def test_the_sharing_routes_are_documented(gateway: RunningGateway) -> None:
    async with gateway.http.get("/v1/openapi.json") as response:
        paths = (await response.json())["paths"]
    for method, path, _ in SHARING_ROUTES:
        template = path.split("?")[0].replace(RESOURCE, "{id}")
        assert method.lower() in paths[template], (method, template)
    invite = paths["/v1/classes/{id}/invitations"]["post"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(invite["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in invite["parameters"])
    accept = paths["/v1/invitations/accept"]["post"]
    assert {"200", "400", "403", "410"} <= set(accept["responses"])
    listing = paths["/v1/invitations"]["get"]
    direction = next(p for p in listing["parameters"] if p["name"] == "direction")
    assert direction["schema"]["enum"] == ["sent", "received"]
