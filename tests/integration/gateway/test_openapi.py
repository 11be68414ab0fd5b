"""The OpenAPI document and the registered routes describe exactly the same API.

The rule: every registered route is either an operation of the OpenAPI document or one of the
web client's pages and assets (``services.gateway.web.WEB_PATHS``, GET only), never both. The
web client is not API: its pages are HTML for people who follow a mail link, so they are
excluded here by that explicit list rather than documented.
"""

from __future__ import annotations

from typing import Any

from services.gateway.web import WEB_PATHS
from tests.support.gateway import RunningGateway

# HEAD is answered for every GET route (RFC 9110) and is not a separate operation.
IMPLIED_METHODS = {"HEAD"}


async def _document(gateway: RunningGateway) -> dict[str, Any]:
    async with gateway.http.get("/v1/openapi.json") as response:
        assert response.status == 200
        document: dict[str, Any] = await response.json()
    return document


def _all_registered(gateway: RunningGateway) -> set[tuple[str, str]]:
    routes: set[tuple[str, str]] = set()
    for route in gateway.app.router.routes():
        resource = route.resource
        assert resource is not None
        if route.method not in IMPLIED_METHODS:
            routes.add((route.method, resource.canonical))
    return routes


def _registered(gateway: RunningGateway) -> set[tuple[str, str]]:
    """The API's routes: everything registered but the web client."""
    return {(method, path) for method, path in _all_registered(gateway) if path not in WEB_PATHS}


async def test_every_route_is_documented_and_every_operation_is_routed(
    gateway: RunningGateway,
) -> None:
    document = await _document(gateway)
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    registered = _registered(gateway)
    assert registered - documented == set(), "routes missing from the OpenAPI document"
    assert documented - registered == set(), "documented operations without a route"


async def test_web_client_routes_are_get_only_and_never_documented(
    gateway: RunningGateway,
) -> None:
    web_routes = {(m, p) for m, p in _all_registered(gateway) if p in WEB_PATHS}
    assert web_routes == {("GET", path) for path in WEB_PATHS}
    documented = set((await _document(gateway))["paths"])
    assert documented & WEB_PATHS == set(), "web client pages are not API operations"


async def test_document_is_openapi_3_1_with_unique_operation_ids(gateway: RunningGateway) -> None:
    document = await _document(gateway)
    assert document["openapi"].startswith("3.1")
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


async def test_request_schemas_reject_unknown_fields(gateway: RunningGateway) -> None:
    document = await _document(gateway)
    bodies = [
        op["requestBody"]["content"]["application/json"]["schema"]
        for ops in document["paths"].values()
        for op in ops.values()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    ]
    assert bodies
    assert all(schema["additionalProperties"] is False for schema in bodies)


async def test_photo_uploads_are_documented_as_raw_images(gateway: RunningGateway) -> None:
    paths = (await _document(gateway))["paths"]
    for path in ("/v1/students/{id}/photo", "/v1/me/photo"):
        upload = paths[path]["put"]
        assert set(upload["requestBody"]["content"]) == {"image/jpeg", "image/png", "image/webp"}
        assert {"413", "415", "422"} <= set(upload["responses"])
        assert "304" in paths[path]["get"]["responses"]


async def test_contract_routes_are_present(gateway: RunningGateway) -> None:
    paths = (await _document(gateway))["paths"]
    expected = {
        ("post", "/v1/accounts"),
        ("post", "/v1/accounts/verify"),
        ("post", "/v1/sessions"),
        ("post", "/v1/sessions/refresh"),
        ("get", "/v1/sessions"),
        ("delete", "/v1/sessions/current"),
        ("delete", "/v1/sessions/{id}"),
        ("delete", "/v1/sessions"),
        ("post", "/v1/password/forgot"),
        ("post", "/v1/password/reset"),
        ("get", "/v1/me"),
        ("patch", "/v1/me"),
        ("post", "/v1/me/password"),
        ("post", "/v1/me/email"),
        ("delete", "/v1/me"),
        ("get", "/.well-known/jwks.json"),
        ("get", "/v1/admin/accounts"),
        ("post", "/v1/admin/accounts/{id}/unlock"),
        ("get", "/v1/admin/unlock-requests"),
        ("post", "/v1/unlock-requests"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/robots.txt"),
        ("post", "/v1/classes/{id}/invitations"),
        ("post", "/v1/students/{id}/invitations"),
        ("get", "/v1/invitations"),
        ("post", "/v1/invitations/accept"),
        ("post", "/v1/invitations/decline"),
        ("post", "/v1/invitations/{id}/resend"),
        ("delete", "/v1/invitations/{id}"),
        ("get", "/v1/classes/{id}/grants"),
        ("get", "/v1/students/{id}/grants"),
        ("get", "/v1/classes/{id}/access-log"),
        ("get", "/v1/students/{id}/access-log"),
        ("delete", "/v1/grants/{id}"),
        ("get", "/v1/shared-with-me"),
        ("post", "/v1/classes"),
        ("get", "/v1/classes"),
        ("get", "/v1/classes/{id}"),
        ("patch", "/v1/classes/{id}"),
        ("delete", "/v1/classes/{id}"),
        ("post", "/v1/students"),
        ("get", "/v1/students"),
        ("get", "/v1/students/{id}"),
        ("patch", "/v1/students/{id}"),
        ("delete", "/v1/students/{id}"),
        ("get", "/v1/classes/{id}/students"),
        ("put", "/v1/classes/{id}/students/{student_id}"),
        ("delete", "/v1/classes/{id}/students/{student_id}"),
        ("put", "/v1/students/{id}/photo"),
        ("get", "/v1/students/{id}/photo"),
        ("delete", "/v1/students/{id}/photo"),
        ("put", "/v1/me/photo"),
        ("get", "/v1/me/photo"),
        ("delete", "/v1/me/photo"),
        ("get", "/v1/me/export"),
    }
    assert {(m, p) for p, ops in paths.items() for m in ops} >= expected
