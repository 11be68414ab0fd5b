"""Forgotten password: the reset mail and the reset itself."""

from __future__ import annotations

from aiohttp import web

from services.gateway.routes.auth_json import NEW_PASSWORD_FIELD
from services.gateway.routes.common import (
    EMAIL_SCHEMA,
    NEW_PASSWORD_SCHEMA,
    TOKEN_SCHEMA,
    object_schema,
)
from services.gateway.routes.spec import Call, RouteSpec, empty_response
from trackcc.auth.v1 import auth_service_pb2

FORGOT_SCHEMA = object_schema(["email"], {"email": EMAIL_SCHEMA})
RESET_SCHEMA = object_schema(
    ["token", "new_password"], {"token": TOKEN_SCHEMA, "new_password": NEW_PASSWORD_SCHEMA}
)


async def forgot_password(call: Call) -> web.StreamResponse:
    await call.clients.auth.ForgotPassword(
        auth_service_pb2.ForgotPasswordRequest(email=call.body["email"]), metadata=call.metadata()
    )
    # The same empty 202 whether or not the account exists: nothing to enumerate.
    return empty_response(202)


async def reset_password(call: Call) -> web.StreamResponse:
    await call.clients.auth.ResetPassword(
        auth_service_pb2.ResetPasswordRequest(
            token=call.body["token"], new_password=call.body["new_password"]
        ),
        metadata=call.metadata(),
    )
    return empty_response()


ROUTES = (
    RouteSpec(
        method="POST",
        path="/v1/password/forgot",
        handler=forgot_password,
        operation_id="forgotPassword",
        summary="Send a password reset mail if the account exists",
        tag="password",
        request_schema=FORGOT_SCHEMA,
        response_status=202,
        rate_limited=True,
        errors=(422, 429),
    ),
    RouteSpec(
        method="POST",
        path="/v1/password/reset",
        handler=reset_password,
        operation_id="resetPassword",
        summary="Set a new password with the token from the reset mail",
        tag="password",
        request_schema=RESET_SCHEMA,
        response_status=204,
        errors=(400, 422),
        reason_status={"invalid_token": 400},
        field_names=NEW_PASSWORD_FIELD,
    ),
)
