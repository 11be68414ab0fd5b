"""Operations and discovery: liveness, readiness, robots.txt, JWKS and the OpenAPI document."""

from __future__ import annotations

import asyncio
import json

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2

from services.common import reasons
from services.gateway.appkeys import OPENAPI
from services.gateway.clients import Backend
from services.gateway.errors import ProblemError
from services.gateway.routes.spec import Call, RouteSpec, json_response
from trackcc.auth.v1 import auth_service_pb2

# Readiness must answer quickly even when a backend hangs.
READINESS_TIMEOUT_SECONDS = 2.0
ROBOTS_TXT = "User-agent: *\nDisallow: /\n"


async def healthz(call: Call) -> web.StreamResponse:
    return json_response({"status": "ok"})


async def _serving(backend: Backend, deadline_seconds: float) -> bool:
    try:
        response = await backend.health.Check(
            health_pb2.HealthCheckRequest(service=backend.service_name), timeout=deadline_seconds
        )
    except grpc.aio.AioRpcError:
        return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


async def readyz(call: Call) -> web.StreamResponse:
    backends = call.clients.backends
    timeout = min(READINESS_TIMEOUT_SECONDS, call.settings.grpc_timeout_seconds)
    answers = await asyncio.gather(*(_serving(backend, timeout) for backend in backends))
    services = {
        backend.name: "serving" if ok else "not_serving"
        for backend, ok in zip(backends, answers, strict=True)
    }
    if not all(answers):
        raise ProblemError(503, reasons.UNAVAILABLE, extensions={"services": services})
    return json_response({"status": "ready", "services": services})


async def robots(call: Call) -> web.StreamResponse:
    return web.Response(text=ROBOTS_TXT, content_type="text/plain", charset="utf-8")


async def jwks(call: Call) -> web.StreamResponse:
    response = await call.clients.auth.GetJwks(auth_service_pb2.GetJwksRequest())
    # Parsed and re-encoded so that only a JSON object ever leaves under this name.
    document = json.loads(response.json)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ProblemError(500, reasons.INTERNAL)
    return json_response(document)


async def openapi(call: Call) -> web.StreamResponse:
    return json_response(call.request.app[OPENAPI])


STATUS_SCHEMA = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string"},
        "services": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
JWKS_SCHEMA = {
    "type": "object",
    "required": ["keys"],
    "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
}

ROUTES = (
    RouteSpec(
        method="GET",
        path="/healthz",
        handler=healthz,
        operation_id="getHealth",
        summary="200 while the process runs",
        tag="operations",
        response_schema=STATUS_SCHEMA,
    ),
    RouteSpec(
        method="GET",
        path="/readyz",
        handler=readyz,
        operation_id="getReadiness",
        summary="200 when auth, roster and sharing all report SERVING",
        tag="operations",
        response_schema=STATUS_SCHEMA,
        errors=(503,),
    ),
    RouteSpec(
        method="GET",
        path="/robots.txt",
        handler=robots,
        operation_id="getRobots",
        summary="Asks crawlers to index nothing",
        tag="operations",
        response_schema={"type": "string"},
        response_content_type="text/plain",
    ),
    RouteSpec(
        method="GET",
        path="/.well-known/jwks.json",
        handler=jwks,
        operation_id="getJwks",
        summary="Public keys that verify access tokens",
        tag="accounts",
        response_schema=JWKS_SCHEMA,
        errors=(503,),
    ),
    RouteSpec(
        method="GET",
        path="/v1/openapi.json",
        handler=openapi,
        operation_id="getOpenApi",
        summary="This document",
        tag="operations",
        response_schema={"type": "object"},
    ),
)
