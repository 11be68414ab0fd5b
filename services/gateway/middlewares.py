"""Request id, security headers, problem+json errors, metrics and the access log.

Order (outermost first): request id, observe (metrics and access log), errors. The error
middleware is innermost so that the others see the final status of every response, and the
security headers are added in ``on_response_prepare`` so that no response path, including
aiohttp's own 404 and 405, can leave without them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import grpc
from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp.web_urldispatcher import MatchInfoError
from prometheus_client import CollectorRegistry, Histogram

from services.common import reasons
from services.common.logs import accept_request_id, request_id_var
from services.gateway.appkeys import REQUEST_ID
from services.gateway.errors import ProblemError, problem_from_rpc_error, problem_response

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("trackcc.gateway.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID_HEADER = "X-Request-Id"
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    # No product or version: nothing for a scanner to match against.
    "Server": "trackcc",
}
# The security headers a handler may set itself (see add_security_headers).
HANDLER_HEADERS = ("Cache-Control", "Content-Security-Policy")
# TRACE echoes requests (cross-site tracing); it is refused on every path.
REFUSED_METHODS = frozenset({"TRACE", "TRACK", "CONNECT"})
# Methods outside this set share one label value, so a client cannot grow the metric.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_CODES_BY_STATUS = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal",
}


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Echoes a well-formed ``X-Request-Id`` or makes one; logs and gRPC calls carry it."""
    request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    try:
        return await handler(request)
    finally:
        request_id_var.reset(token)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the headers every response carries.

    A handler may set two of them itself. ``Cache-Control``: photos are ``private`` so that a
    client can keep them and revalidate with ``If-None-Match``; everything else is
    ``no-store``. ``Content-Security-Policy``: the web client's pages must run their own
    same-origin script, which the API's ``default-src 'none'`` forbids.
    """
    kept = {name: response.headers[name] for name in HANDLER_HEADERS if name in response.headers}
    response.headers.update(SECURITY_HEADERS)
    response.headers.update(kept)
    response.headers[REQUEST_ID_HEADER] = request.get(REQUEST_ID) or accept_request_id(None)


def route_template(request: web.Request) -> str:
    """The matched route's template (``/v1/sessions/{id}``), or ``unmatched``."""
    match_info = request.match_info
    if isinstance(match_info, MatchInfoError) or match_info.route.resource is None:
        return "unmatched"
    return match_info.route.resource.canonical


def make_observe_middleware(registry: CollectorRegistry) -> Middleware:
    """Duration histogram by method, route template and status, and one access log line."""
    duration = Histogram(
        "http_server_request_duration_seconds",
        "Time to answer an HTTP request, by route template.",
        ["method", "route", "status"],
        registry=registry,
    )

    @web.middleware
    async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 499  # the client went away before an answer
        try:
            response = await handler(request)
            status = response.status
            return response
        finally:
            elapsed = time.perf_counter() - started
            method = request.method if request.method in KNOWN_METHODS else "other"
            route = route_template(request)
            duration.labels(method, route, str(status)).observe(elapsed)
            # Route template only: no query string, body or header can carry a secret here.
            access_logger.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )

    return observe_middleware


async def _allowed_methods(request: web.Request) -> str:
    """The methods of the route that owns this path, for ``Allow``.

    aiohttp's 405 lists the methods of every resource whose pattern matches the path, so
    ``/v1/invitations/accept`` (POST) also advertised ``/v1/invitations/{id}``'s DELETE. The
    route that owns a path is the one written for it: a literal path over a pattern, and
    otherwise the first pattern in the router's order.
    """
    by_pattern: dict[str, set[str]] = {}
    literal: str | None = None
    for resource in request.app.router.resources():
        match, allowed = await resource.resolve(request)
        methods = {route.method for route in resource} if match is not None else set(allowed)
        if not methods:
            continue
        # One path can span several resources (one per add_route), so methods are gathered
        # by pattern.
        by_pattern.setdefault(resource.canonical, set()).update(methods)
        if literal is None and isinstance(resource, web.PlainResource):
            literal = resource.canonical
    if not by_pattern:
        return ""
    owner = literal if literal is not None else next(iter(by_pattern))
    return ", ".join(sorted(by_pattern[owner]))


async def _problem_from_http_exception(
    request: web.Request, error: web.HTTPException
) -> ProblemError:
    code = _CODES_BY_STATUS.get(error.status)
    if code is None:
        code = HTTPStatus(error.status).phrase.lower().replace(" ", "_").replace("-", "_")
    headers: dict[str, str] = {}
    if error.status == 405:
        headers["Allow"] = await _allowed_methods(request)
    return ProblemError(error.status, code, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turns every failure into problem+json; never a traceback or HTML."""
    if request.method in REFUSED_METHODS:
        return problem_response(
            ProblemError(
                405, reasons.METHOD_NOT_ALLOWED, headers={"Allow": await _allowed_methods(request)}
            )
        )
    try:
        return await handler(request)
    except ProblemError as problem:
        return problem_response(problem)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return problem_response(await _problem_from_http_exception(request, error))
    except grpc.aio.AioRpcError as error:
        return problem_response(problem_from_rpc_error(error))
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("unhandled error")
        return problem_response(ProblemError(500, reasons.INTERNAL))
