"""Sign in, refresh, the session list and sign out."""

from __future__ import annotations

from aiohttp import web

from services.gateway.routes.representations import (
    PASSWORD_SCHEMA,
    SESSION_SCHEMA,
    SESSION_TOKENS_SCHEMA,
    TOKEN_SCHEMA,
    list_schema,
    object_schema,
    path_uuid,
    session_json,
    session_tokens_json,
)
from services.gateway.routes.spec import Call, RouteSpec, empty_response, json_response
from services.gateway.validation import PAGE_QUERY_PARAMETERS, page_params
from trackcc.auth.v1 import auth_service_pb2

# Sign-in takes any string as email: a malformed one is simply wrong credentials.
SIGN_IN_SCHEMA = object_schema(
    ["email", "password"],
    {"email": {"type": "string", "minLength": 1, "maxLength": 254}, "password": PASSWORD_SCHEMA},
)
REFRESH_SCHEMA = object_schema(["refresh_token"], {"refresh_token": TOKEN_SCHEMA})


async def sign_in(call: Call) -> web.StreamResponse:
    tokens = await call.clients.auth.CreateSession(
        auth_service_pb2.CreateSessionRequest(
            email=call.body["email"], password=call.body["password"], user_agent=call.user_agent
        ),
        metadata=call.metadata(),
    )
    return json_response(session_tokens_json(tokens, call.settings.public_url))


async def refresh(call: Call) -> web.StreamResponse:
    tokens = await call.clients.auth.RefreshSession(
        auth_service_pb2.RefreshSessionRequest(
            refresh_token=call.body["refresh_token"], user_agent=call.user_agent
        ),
        metadata=call.metadata(),
    )
    return json_response(session_tokens_json(tokens, call.settings.public_url))


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
    return empty_response()


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
    return empty_response()


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
        summary="Exchange a refresh token for new tokens",
        tag="sessions",
        request_schema=REFRESH_SCHEMA,
        response_schema=SESSION_TOKENS_SCHEMA,
        errors=(401, 422),
        reason_status={"invalid_token": 401},
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
