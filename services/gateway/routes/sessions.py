"""Sign in, refresh, the session list and sign out."""

from __future__ import annotations

import datetime as dt

import grpc
from aiohttp import web

from services.common import reasons
from services.gateway import refresh_cookie
from services.gateway.errors import ProblemError, problem_from_rpc_error, problem_response
from services.gateway.routes.auth_json import (
    SESSION_SCHEMA,
    SESSION_TOKENS_SCHEMA,
    session_json,
    session_tokens_json,
)
from services.gateway.routes.common import (
    NO_CONTROLS,
    PASSWORD_SCHEMA,
    TOKEN_SCHEMA,
    list_schema,
    object_schema,
    path_uuid,
)
from services.gateway.routes.spec import Call, RouteSpec, empty_response, json_response
from services.gateway.validation import PAGE_QUERY_PARAMETERS, page_params
from trackcc.auth.v1 import auth_service_pb2

# Sign-in takes any string as email: a malformed one is simply wrong credentials.
SIGN_IN_SCHEMA = object_schema(
    ["email", "password"],
    {
        "email": {"type": "string", "minLength": 1, "maxLength": 254, "pattern": NO_CONTROLS},
        "password": PASSWORD_SCHEMA,
        "refresh_cookie": {
            "type": "boolean",
            "description": "Browsers: true puts the refresh token in the HttpOnly cookie "
            "trackcc_refresh (Path=/v1/sessions) instead of the body.",
        },
    },
)
# A mobile client sends its token; a browser sends {} and its trackcc_refresh cookie.
REFRESH_SCHEMA = object_schema(
    [],
    {
        "refresh_token": {
            **TOKEN_SCHEMA,
            "description": "Omitted by browsers, which send the trackcc_refresh cookie and "
            "an Origin that is the gateway's own.",
        }
    },
)


async def sign_in(call: Call) -> web.StreamResponse:
    tokens = await call.clients.auth.CreateSession(
        auth_service_pb2.CreateSessionRequest(
            email=call.body["email"], password=call.body["password"], user_agent=call.user_agent
        ),
        metadata=call.metadata(),
    )
    if call.body.get("refresh_cookie") is True:
        return _with_cookie(call, tokens)
    return json_response(session_tokens_json(tokens, call.settings.public_url))


def _with_cookie(call: Call, tokens: auth_service_pb2.SessionTokens) -> web.StreamResponse:
    """The tokens without the refresh token, which goes into the cookie instead."""
    body = session_tokens_json(tokens, call.settings.public_url)
    del body["refresh_token"]
    response = json_response(body)
    expires_at = (
        tokens.session_expire_time.ToDatetime(dt.UTC)
        if tokens.HasField("session_expire_time")
        else None
    )
    refresh_cookie.set_cookie(response, tokens.refresh_token, expires_at, dt.datetime.now(dt.UTC))
    return response


async def refresh(call: Call) -> web.StreamResponse:
    if "refresh_token" in call.body:
        tokens = await call.clients.auth.RefreshSession(
            auth_service_pb2.RefreshSessionRequest(
                refresh_token=call.body["refresh_token"], user_agent=call.user_agent
            ),
            metadata=call.metadata(),
        )
        return json_response(session_tokens_json(tokens, call.settings.public_url))
    token = refresh_cookie.presented(call.request, call.settings.public_url)
    if token is None:
        raise ProblemError(
            401,
            reasons.INVALID_TOKEN,
            detail="No refresh token: send refresh_token, or sign in again.",
        )
    try:
        tokens = await call.clients.auth.RefreshSession(
            auth_service_pb2.RefreshSessionRequest(refresh_token=token, user_agent=call.user_agent),
            metadata=call.metadata(),
        )
    except grpc.aio.AioRpcError as error:
        # A refused cookie stays refused: the browser should stop sending it.
        response = problem_response(problem_from_rpc_error(error, {"invalid_token": 401}))
        refresh_cookie.clear_cookie(response)
        return response
    return _with_cookie(call, tokens)


async def list_sessions(call: Call) -> web.StreamResponse:
    page_size, page_token = page_params(call.request)
    response = await call.clients.auth.ListSessions(
        auth_service_pb2.ListSessionsRequest(page_size=page_size, page_token=page_token),
        metadata=call.metadata(),
    )
    return json_response(
        {
            "items": [session_json(session) for session in response.sessions],
            "next_page_token": response.next_page_token,
        }
    )


async def sign_out(call: Call) -> web.StreamResponse:
    principal = call.user
    try:
        await call.clients.auth.DeleteSession(
            auth_service_pb2.DeleteSessionRequest(session_id="current"), metadata=call.metadata()
        )
    finally:
        # Even after a failed call: the session may be gone, and forgetting costs one lookup.
        call.sessions.evict_session(principal.session_id)
    response = empty_response()
    refresh_cookie.clear_cookie(response)
    return response


async def delete_session(call: Call) -> web.StreamResponse:
    session_id = path_uuid(call.request.match_info["id"])
    try:
        await call.clients.auth.DeleteSession(
            auth_service_pb2.DeleteSessionRequest(session_id=session_id), metadata=call.metadata()
        )
    finally:
        call.sessions.evict_session(session_id)
    return empty_response()


async def sign_out_everywhere(call: Call) -> web.StreamResponse:
    principal = call.user
    try:
        await call.clients.auth.DeleteAllSessions(
            auth_service_pb2.DeleteAllSessionsRequest(), metadata=call.metadata()
        )
    finally:
        call.sessions.evict_user(principal.user_id)
    response = empty_response()
    refresh_cookie.clear_cookie(response)
    return response


ROUTES = (
    RouteSpec(
        method="POST",
        path="/v1/sessions",
        handler=sign_in,
        operation_id="createSession",
        summary="Sign in",
        tag="sessions",
        request_schema=SIGN_IN_SCHEMA,
        response_schema=SESSION_TOKENS_SCHEMA,
        rate_limited=True,
        errors=(401, 422, 423, 429),
    ),
    RouteSpec(
        method="POST",
        path="/v1/sessions/refresh",
        handler=refresh,
        operation_id="refreshSession",
        summary="Exchange a refresh token (in the body, or the browser's cookie) for new tokens",
        tag="sessions",
        request_schema=REFRESH_SCHEMA,
        response_schema=SESSION_TOKENS_SCHEMA,
        errors=(401, 403, 422),
        reason_status={"invalid_token": 401},
        parameters=(
            {
                "name": refresh_cookie.COOKIE_NAME,
                "in": "cookie",
                "required": False,
                "description": "Set by sign-in with refresh_cookie: true; used when the body "
                "has no refresh_token, and only with the gateway's own Origin (else 403 "
                "bad_origin). The answer sets its successor.",
                "schema": {"type": "string"},
            },
        ),
    ),
    RouteSpec(
        method="GET",
        path="/v1/sessions",
        handler=list_sessions,
        operation_id="listSessions",
        summary="My active sessions",
        tag="sessions",
        response_schema=list_schema(SESSION_SCHEMA),
        auth=True,
        errors=(401, 422),
        parameters=PAGE_QUERY_PARAMETERS,
    ),
    # Registered before /v1/sessions/{id} so that "current" is not taken for an id.
    RouteSpec(
        method="DELETE",
        path="/v1/sessions/current",
        handler=sign_out,
        operation_id="deleteCurrentSession",
        summary="Sign out",
        tag="sessions",
        response_status=204,
        auth=True,
        errors=(401,),
    ),
    RouteSpec(
        method="DELETE",
        path="/v1/sessions/{id}",
        handler=delete_session,
        operation_id="deleteSession",
        summary="End one of my sessions",
        tag="sessions",
        response_status=204,
        auth=True,
        errors=(401, 404),
    ),
    RouteSpec(
        method="DELETE",
        path="/v1/sessions",
        handler=sign_out_everywhere,
        operation_id="deleteAllSessions",
        summary="Sign out everywhere",
        tag="sessions",
        response_status=204,
        auth=True,
        errors=(401,),
    ),
)
