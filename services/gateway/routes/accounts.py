"""Sign-up and email verification."""

from __future__ import annotations

from aiohttp import web

from services.gateway.routes.auth_json import (
    ACCOUNT_SCHEMA,
    ROLES_AT_SIGNUP,
    account_json,
    role_to_proto,
)
from services.gateway.routes.common import (
    BIRTH_DATE_SCHEMA,
    DISPLAY_NAME_SCHEMA,
    EMAIL_SCHEMA,
    GENDER_SCHEMA,
    IDEMPOTENCY_FIELDS,
    IDEMPOTENCY_KEY_PARAMETER,
    NEW_PASSWORD_SCHEMA,
    TOKEN_SCHEMA,
    idempotency_key,
    object_schema,
)
from services.gateway.routes.spec import Call, RouteSpec, empty_response, json_response
from trackcc.auth.v1 import auth_service_pb2

CREATE_ACCOUNT_SCHEMA = object_schema(
    ["email", "password", "role"],
    {
        "email": EMAIL_SCHEMA,
        "password": NEW_PASSWORD_SCHEMA,
        "role": {"type": "string", "enum": list(ROLES_AT_SIGNUP)},
        "display_name": DISPLAY_NAME_SCHEMA,
        "birth_date": BIRTH_DATE_SCHEMA,
        "gender": GENDER_SCHEMA,
    },
)

VERIFY_SCHEMA = object_schema(["token"], {"token": TOKEN_SCHEMA})


async def create_account(call: Call) -> web.StreamResponse:
    body = call.body
    request = auth_service_pb2.CreateAccountRequest(
        email=body["email"],
        password=body["password"],
        role=role_to_proto(body["role"]),
        request_id=idempotency_key(call.request),
    )
    for name in ("display_name", "birth_date", "gender"):
        if name in body:
            setattr(request, name, body[name])
    account = await call.clients.auth.CreateAccount(request, metadata=call.metadata())
    return json_response(account_json(account, call.settings.public_url), 201)


async def verify_email(call: Call) -> web.StreamResponse:
    await call.clients.auth.VerifyEmail(
        auth_service_pb2.VerifyEmailRequest(token=call.body["token"]), metadata=call.metadata()
    )
    return empty_response()


ROUTES = (
    RouteSpec(
        method="POST",
        path="/v1/accounts",
        handler=create_account,
        operation_id="createAccount",
        summary="Sign up",
        tag="accounts",
        request_schema=CREATE_ACCOUNT_SCHEMA,
        response_status=201,
        response_schema=ACCOUNT_SCHEMA,
        rate_limited=True,
        errors=(409, 422, 429),
        parameters=(IDEMPOTENCY_KEY_PARAMETER,),
        field_names=IDEMPOTENCY_FIELDS,
    ),
    RouteSpec(
        method="POST",
        path="/v1/accounts/verify",
        handler=verify_email,
        operation_id="verifyEmail",
        summary="Confirm an email address with the token from the mail",
        tag="accounts",
        request_schema=VERIFY_SCHEMA,
        response_status=204,
        # 409 email_taken: an email change whose new address was taken meanwhile.
        errors=(400, 409, 422),
        reason_status={"invalid_token": 400},
    ),
)
