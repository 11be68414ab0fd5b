"""The OpenAPI 3.1 document, built from the same route specs that register the routes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from services.gateway.errors import PROBLEM_CONTENT_TYPE
from services.gateway.openapi_links import LINKS
from services.gateway.routes.spec import RouteSpec

_PATH_PARAMETER = re.compile(r"\{([^}/]+)\}")

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable error code."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_REF}},
    }


def _operation(spec: RouteSpec) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(spec.response_status).phrase}
    if spec.response_schema is not None:
        success["content"] = {spec.response_content_type: {"schema": spec.response_schema}}
    if spec.operation_id in LINKS:
        success["links"] = LINKS[spec.operation_id]
    responses: dict[str, Any] = {str(spec.response_status): success}
    statuses = set(spec.errors)
    if spec.auth:
        # 503: auth cannot say whether the token's session is still active (fail closed).
        statuses.update({401, 503})
    if spec.request_schema is not None:
        statuses.update({400, 413, 415, 422})
    if spec.raw_body_types:
        statuses.update({413, 415, 422})
    if any(param.get("name") == "page_token" for param in spec.parameters):
        # A token the list did not issue: 400 invalid_page_token on every list.
        statuses.add(400)
    for status, description in spec.other_responses.items():
        responses[str(status)] = {"description": description}
    for status in sorted(statuses):
        responses[str(status)] = _problem_response(status)
    responses["default"] = {
        "description": "Any other error",
        "content": {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_REF}},
    }
    declared = {param["name"] for param in spec.parameters if param.get("in") == "path"}
    # Every path parameter is an id, and ids are UUIDs (docs/api.md); another string names
    # nothing and answers 404.
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
        }
        for name in _PATH_PARAMETER.findall(spec.path)
        if name not in declared
    ]
    parameters.extend(dict(param) for param in spec.parameters)
    operation: dict[str, Any] = {
        "operationId": spec.operation_id,
        "summary": spec.summary,
        "tags": [spec.tag],
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if spec.request_schema is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": spec.request_schema}},
        }
    elif spec.raw_body_types:
        operation["requestBody"] = {
            "required": True,
            "content": {
                media_type: {"schema": {"type": "string", "contentMediaType": media_type}}
                for media_type in spec.raw_body_types
            },
        }
    operation["security"] = [{"bearerAuth": []}] if spec.auth else []
    return operation


def build_document(specs: Iterable[RouteSpec], public_url: str) -> dict[str, Any]:
    """The document served at ``GET /v1/openapi.json``."""
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "TrackCC API",
            "version": "1",
            "description": "Class rosters shared by invitation only. Errors are RFC 9457 "
            "problem details with a stable `code`.",
        },
        "servers": [{"url": public_url}],
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
