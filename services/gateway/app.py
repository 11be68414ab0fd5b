"""The gateway application factory."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry

from services.common.jwks_reload import jwks_file_verifier
from services.gateway.appkeys import (
    CLIENTS,
    LIMITER,
    OPENAPI,
    REGISTRY,
    SESSIONS,
    SETTINGS,
    VERIFIER,
)
from services.gateway.clients import ClientsFactory, open_clients
from services.gateway.config import GatewaySettings
from services.gateway.middlewares import (
    add_security_headers,
    error_middleware,
    make_observe_middleware,
    request_id_middleware,
)
from services.gateway.openapi import build_document
from services.gateway.rate_limit import SlidingWindowLimiter
from services.gateway.routes import all_routes
from services.gateway.routes.spec import register
from services.gateway.session_states import SessionStates
from services.gateway.web import register_web
from trackcc.auth.v1 import auth_service_pb2


def create_app(
    settings: GatewaySettings,
    clients: ClientsFactory = open_clients,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> web.Application:
    """The gateway: routes, middlewares, and the channels opened for the app's lifetime."""
    registry = CollectorRegistry()
    app = web.Application(
        middlewares=[
            request_id_middleware,
            make_observe_middleware(registry),
            error_middleware,
        ],
        # Our own limit is checked per route while reading; this is only a backstop.
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[REGISTRY] = registry
    app[VERIFIER] = jwks_file_verifier(
        settings.jwks_file, settings.jwt_issuer, settings.jwt_audience, clock=clock
    )
    app[LIMITER] = SlidingWindowLimiter(settings.rate_limit_per_minute, 60.0, clock=clock)

    async def active_sessions(session_ids: list[str]) -> list[str]:
        response = await app[CLIENTS].auth.BatchGetSessionStates(
            auth_service_pb2.BatchGetSessionStatesRequest(session_ids=session_ids)
        )
        return list(response.active_session_ids)

    app[SESSIONS] = SessionStates(active_sessions, settings.session_cache_seconds, clock=clock)
    routes = all_routes()
    register(app, routes)
    # The web client's pages are not API: routed, but not in the OpenAPI document.
    register_web(app)
    app[OPENAPI] = build_document(routes, settings.public_url)
    app.on_response_prepare.append(add_security_headers)

    async def channels(app: web.Application) -> AsyncIterator[None]:
        async with clients(settings) as opened:
            app[CLIENTS] = opened
            yield
            await app[SESSIONS].close()

    app.cleanup_ctx.append(channels)
    return app
