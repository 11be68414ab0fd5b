"""Hostile text answers a 4xx problem, never a 500: lone surrogates, NUL and control
characters in JSON strings, deep nesting, odd page sizes and tokens, and header bytes that
are not UTF-8 (issue 11, item 5). The gateway checks every JSON string in one place
(``services/gateway/json_text.py``) before protobuf or PostgreSQL sees it."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest

from services.gateway.routes import all_routes
from services.gateway.routes.spec import RouteSpec
from tests.support.gateway import RunningGateway
from tests.support.http_checks import assert_security_headers, problem_of
from tests.support.raw_http import raw_request, request_bytes
from tests.support.roster_calls import create_class, new_user
from tests.support.sharing_stack import PASSWORD, User

SURROGATE = "\ud800"


@pytest.fixture(scope="module")
async def owner(gateway: RunningGateway) -> User:
    return await new_user(gateway)


async def post_raw_json(
    gateway: RunningGateway, path: str, text: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """POSTs JSON text as written (json.dumps escapes a lone surrogate as ``\\ud800``)."""
    async with gateway.http.post(
        path,
        data=text.encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    ) as response:
        assert response.content_type == "application/problem+json", await response.text()
        assert_security_headers(response)
        return response.status, await response.json(content_type=None)


def field_messages(problem: dict[str, Any]) -> dict[str, str]:
    return {error["field"]: error["message"] for error in problem.get("errors", [])}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/sessions", {"email": f"a{SURROGATE}@example.org", "password": "x"}, "email"),
        ("/v1/sessions", {"email": "a@example.org", "password": f"pw{SURROGATE}"}, "password"),
        (
            "/v1/accounts",
            {
                "email": "b@example.org",
                "password": PASSWORD,
                "role": "teacher",
                "display_name": f"K{SURROGATE}",
            },
            "display_name",
        ),
        ("/v1/password/forgot", {"email": f"c{SURROGATE}@example.org"}, "email"),
        ("/v1/sessions", {"email": "a\u0000@example.org", "password": "x"}, "email"),
        ("/v1/password/forgot", {"email": "c\u0000@example.org"}, "email"),
    ],
)
async def test_bad_text_without_sign_in_is_422_naming_the_field(
    gateway: RunningGateway, path: str, body: dict[str, Any], field: str
) -> None:
    status, problem = await post_raw_json(gateway, path, json.dumps(body))
    assert status == 422, problem
    assert problem["code"] == "validation_failed"
    assert field in field_messages(problem), problem


def _with_surrogate(spec: RouteSpec) -> tuple[str, dict[str, Any]]:
    """The route's path with ids filled in, and a body whose first text field is bad."""
    path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), spec.path)
    assert spec.request_schema is not None
    properties = spec.request_schema.get("properties", {})
    for name, schema in properties.items():
        kinds = schema.get("type") if isinstance(schema, dict) else None
        if kinds == "string" or (isinstance(kinds, list) and "string" in kinds):
            return path, {name: SURROGATE}
    return path, {"unknown": SURROGATE}


JSON_ROUTES = [spec for spec in all_routes() if spec.request_schema is not None]


@pytest.mark.parametrize("spec", JSON_ROUTES, ids=lambda spec: f"{spec.method} {spec.path}")
async def test_a_lone_surrogate_on_every_json_route_is_a_problem(
    gateway: RunningGateway, owner: User, spec: RouteSpec
) -> None:
    path, body = _with_surrogate(spec)
    async with gateway.http.request(
        spec.method,
        path,
        data=json.dumps(body).encode(),
        headers={**owner.headers, "Content-Type": "application/json"},
    ) as response:
        answer = await response.json(content_type=None)
        assert response.content_type == "application/problem+json"
        if spec.roles is not None:  # support only: refused before the body is read
            assert response.status == 403, answer
            return
        assert response.status == 422, answer
        field = next(iter(body))
        assert "Unicode" in field_messages(answer).get(field, ""), answer


async def test_nul_in_an_invitation_is_422(gateway: RunningGateway, owner: User) -> None:
    school_class = await create_class(gateway, owner)
    path = f"/v1/classes/{school_class['id']}/invitations"
    good = {"email": "guardian@example.org", "relation": "viewer", "role": "guardian"}
    for body, field in (
        ({**good, "email": "guard\u0000ian@example.org"}, "email"),
        ({**good, "message": "Hello\u0000there"}, "message"),
    ):
        status, problem = await post_raw_json(gateway, path, json.dumps(body), owner.headers)
        assert status == 422, problem
        assert field in field_messages(problem), problem


async def test_json_nested_2000_levels_is_400(gateway: RunningGateway) -> None:
    text = '{"email": ' + "[" * 2000 + "]" * 2000 + ', "password": "x"}'
    status, problem = await post_raw_json(gateway, "/v1/sessions", text)
    assert status == 400, problem
    assert problem["code"] == "malformed_json"


async def test_json_nested_within_the_parser_but_past_the_bound_is_400(
    gateway: RunningGateway,
) -> None:
    text = '{"email": ' + "[" * 100 + "]" * 100 + ', "password": "x"}'
    status, problem = await post_raw_json(gateway, "/v1/sessions", text)
    assert status == 400, problem
    assert problem["code"] == "malformed_json"


@pytest.mark.parametrize("size", ["\u00b2", "1" * 5000, "\u0661\u0660", "0", "201"])
async def test_odd_page_sizes_are_422(gateway: RunningGateway, owner: User, size: str) -> None:
    async with gateway.http.get(
        "/v1/students", params={"page_size": size}, headers=owner.headers
    ) as response:
        body = await problem_of(response, 422, "validation_failed")
    assert [error["field"] for error in body["errors"]] == ["page_size"]


@pytest.mark.parametrize("key", ["\u00b2", "\u0661\u0662", "9" * 30])
async def test_non_ascii_digits_in_an_access_log_token_are_400(
    gateway: RunningGateway, owner: User, key: str
) -> None:
    school_class = await create_class(gateway, owner)
    raw = json.dumps(["2026-01-01T00:00:00+00:00", key]).encode()
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    async with gateway.http.get(
        f"/v1/classes/{school_class['id']}/access-log",
        params={"page_token": token},
        headers=owner.headers,
    ) as response:
        await problem_of(response, 400, "invalid_page_token")


async def test_user_agent_that_is_not_utf8_signs_in(gateway: RunningGateway, owner: User) -> None:
    body = json.dumps({"email": owner.email, "password": PASSWORD}).encode()
    answer = await raw_request(
        gateway,
        request_bytes(
            "POST",
            "/v1/sessions",
            {"Content-Type": b"application/json", "User-Agent": b"agent \xff\xfe/1"},
            body,
        ),
    )
    assert answer.status == 200, answer.body
    tokens = answer.json()
    async with gateway.http.get(
        "/v1/sessions", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ) as response:
        assert response.status == 200
        sessions = (await response.json())["items"]
    current = next(item for item in sessions if item["current"])
    assert current["user_agent"] == "agent \ufffd\ufffd/1"


async def test_if_none_match_that_is_not_utf8_is_a_problem(
    gateway: RunningGateway, owner: User
) -> None:
    authorization = owner.headers["Authorization"].encode()
    answer = await raw_request(
        gateway,
        request_bytes(
            "GET",
            f"/v1/students/{uuid.uuid4()}/photo",
            {"Authorization": authorization, "If-None-Match": b'"\xff\xfe"'},
        ),
    )
    assert answer.status == 404, answer.body
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "not_found"


async def test_an_authorization_header_that_is_not_utf8_is_401(gateway: RunningGateway) -> None:
    answer = await raw_request(
        gateway, request_bytes("GET", "/v1/me", {"Authorization": b"Bearer \xff\xfe.x.y"})
    )
    assert answer.status == 401, answer.body
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_password_may_hold_any_character_but_a_lone_surrogate(
    gateway: RunningGateway,
) -> None:
    # docs/api.md: passwords are any Unicode characters; only what cannot be encoded is refused.
    body = {"email": "nobody-here@example.org", "password": "tab\there\u0001bell"}
    async with gateway.http.post("/v1/sessions", json=body) as response:
        assert response.status == 401, await response.text()
