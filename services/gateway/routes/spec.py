"""The route-spec structure: one declaration registers an aiohttp route and documents it.

A :class:`RouteSpec` names the method, path template, handler, OpenAPI operation and the
gateway's duties for that route (rate limit, authentication, body schema, how reasons map to
statuses). :func:`register` wraps the handler with those duties, so a handler only converts
JSON to proto and back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web

from services.common import reasons
from services.common.tokens import AUTHORIZATION_METADATA, Principal
from services.gateway.appkeys import CLIENTS, LIMITER, SESSIONS, SETTINGS, VERIFIER
from services.gateway.authn import authenticate
from services.gateway.client_address import client_address
from services.gateway.clients import ServiceClients
from services.gateway.config import GatewaySettings
from services.gateway.errors import ProblemError, problem_from_rpc_error
from services.gateway.json_encoding import json_bytes
from services.gateway.json_text import clean_header
from services.gateway.session_states import SessionStates
from services.gateway.validation import Schema, read_json


@dataclass(frozen=True)
class Call:
    """One HTTP request as a handler sees it, after the route's checks passed."""

    request: web.Request
    body: dict[str, Any]
    principal: Principal | None
    authorization: str | None

    @property
    def clients(self) -> ServiceClients:
        return self.request.app[CLIENTS]

    @property
    def settings(self) -> GatewaySettings:
        return self.request.app[SETTINGS]

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata for the call: the caller's token (the request id is added for all)."""
        if self.authorization is None:
            return ()
        return ((AUTHORIZATION_METADATA, self.authorization),)

    @property
    def user(self) -> Principal:
        """The authenticated principal; only for routes declared with ``auth=True``."""
        if self.principal is None:
            raise RuntimeError("route without auth asked for the user")
        return self.principal

    @property
    def sessions(self) -> SessionStates:
        return self.request.app[SESSIONS]

    @property
    def user_agent(self) -> str:
        # Bounded: it is stored with the session and shown in the session list. Bytes that
        # are not UTF-8 must not reach protobuf or PostgreSQL.
        return clean_header(self.request.headers.get("User-Agent", ""), 512)


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RouteSpec:
    """A route and its documentation."""

    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    response_status: int = 200
    response_schema: Schema | None = None
    response_content_type: str = "application/json"
    request_schema: Schema | None = None
    auth: bool = False
    roles: frozenset[str] | None = None
    rate_limited: bool = False
    errors: Sequence[int] = ()
    reason_status: Mapping[str, int] = field(default_factory=dict)
    # Proto field names that the API spells differently, for the ``errors`` of a 422.
    field_names: Mapping[str, str] = field(default_factory=dict)
    parameters: Sequence[Mapping[str, Any]] = ()
    # Media types of a raw (non-JSON) body that the handler streams itself; documented only.
    raw_body_types: Sequence[str] = ()
    # Other non-problem answers (304), documented with a description.
    other_responses: Mapping[int, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON body with the right content type."""
    return web.Response(
        status=status,
        body=json_bytes(data),
        content_type="application/json",
    )


def empty_response(status: int = 204) -> web.Response:
    """No body (204, or 202 where the work continues elsewhere)."""
    return web.Response(status=status)


def _client_key(request: web.Request) -> str:
    # The transport peer, or the client a trusted proxy names (client_address.py).
    return client_address(
        request.remote,
        request.headers.get("Forwarded"),
        request.headers.get("X-Forwarded-For"),
        request.app[SETTINGS].trusted_proxies,
    )


def _wrap(spec: RouteSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        app = request.app
        if spec.rate_limited:
            decision = app[LIMITER].hit(_client_key(request))
            if not decision.allowed:
                raise ProblemError(
                    429,
                    reasons.RATE_LIMITED,
                    headers={"Retry-After": str(decision.retry_after_seconds)},
                )
        principal: Principal | None = None
        authorization: str | None = None
        if spec.auth:
            principal, authorization = await authenticate(request, app[VERIFIER], app[SESSIONS])
            if spec.roles is not None and principal.role not in spec.roles:
                raise ProblemError(403, reasons.FORBIDDEN)
        body: dict[str, Any] = {}
        if spec.request_schema is not None:
            body = await read_json(request, spec.request_schema, app[SETTINGS].max_body_bytes)
        try:
            return await spec.handler(Call(request, body, principal, authorization))
        except grpc.aio.AioRpcError as error:
            raise problem_from_rpc_error(error, spec.reason_status, spec.field_names) from None

    return handle


def register(app: web.Application, specs: Iterable[RouteSpec]) -> None:
    """Adds every spec's route; GET routes answer HEAD too (RFC 9110)."""
    for spec in specs:
        if spec.method == "GET":
            app.router.add_get(spec.path, _wrap(spec), name=spec.operation_id)
        else:
            app.router.add_route(spec.method, spec.path, _wrap(spec), name=spec.operation_id)
