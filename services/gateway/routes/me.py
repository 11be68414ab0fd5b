"""The caller's own account: profile, password, email change and deletion."""

from __future__ import annotations

from aiohttp import web
from google.protobuf.field_mask_pb2 import FieldMask

from services.gateway.routes.auth_json import ACCOUNT_SCHEMA, NEW_PASSWORD_FIELD, account_json
from services.gateway.routes.common import (
    BIRTH_DATE_SCHEMA,
    DISPLAY_NAME_SCHEMA,
    EMAIL_SCHEMA,
    GENDER_SCHEMA,
    NEW_PASSWORD_SCHEMA,
    PASSWORD_SCHEMA,
    at_least_one,
    nullable,
    object_schema,
)
from services.gateway.routes.spec import Call, RouteSpec, empty_response, json_response
from trackcc.auth.v1 import auth_service_pb2

PROFILE_FIELDS = ("display_name", "birth_date", "gender")

# These routes check the password, and failures count toward the lockout: a locked account
# answers 423 account_locked (errors.REASON_STATUS), like sign-in.


# Only the fields present change (the update mask names exactly them); like every PATCH, the
# body names at least one.
UPDATE_SCHEMA = at_least_one(
    object_schema(
        [],
        {
            "display_name": nullable(DISPLAY_NAME_SCHEMA),
            "birth_date": nullable(BIRTH_DATE_SCHEMA),
            "gender": nullable(GENDER_SCHEMA),
        },
    )
)
CHANGE_PASSWORD_SCHEMA = object_schema(
    ["current_password", "new_password"],
    {"current_password": PASSWORD_SCHEMA, "new_password": NEW_PASSWORD_SCHEMA},
)
CHANGE_EMAIL_SCHEMA = object_schema(
    ["new_email", "password"], {"new_email": EMAIL_SCHEMA, "password": PASSWORD_SCHEMA}
)
DELETE_SCHEMA = object_schema(["password"], {"password": PASSWORD_SCHEMA})


async def get_me(call: Call) -> web.StreamResponse:
    account = await call.clients.auth.GetAccount(
        auth_service_pb2.GetAccountRequest(), metadata=call.metadata()
    )
    return json_response(account_json(account, call.settings.public_url))


async def update_me(call: Call) -> web.StreamResponse:
    changes = auth_service_pb2.Account()
    for name in PROFILE_FIELDS:
        value = call.body.get(name)
        if value is not None:  # a null in the body is left unset here, which clears it
            setattr(changes, name, value)
    mask = FieldMask(paths=[name for name in PROFILE_FIELDS if name in call.body])
    account = await call.clients.auth.UpdateAccount(
        auth_service_pb2.UpdateAccountRequest(account=changes, update_mask=mask),
        metadata=call.metadata(),
    )
    return json_response(account_json(account, call.settings.public_url))


async def change_password(call: Call) -> web.StreamResponse:
    await call.clients.auth.ChangePassword(
        auth_service_pb2.ChangePasswordRequest(
            current_password=call.body["current_password"],
            new_password=call.body["new_password"],
        ),
        metadata=call.metadata(),
    )
    # auth revoked the other sessions; this gateway stops trusting them now, not in 30 s.
    call.sessions.evict_user(call.user.user_id)
    return empty_response()


async def change_email(call: Call) -> web.StreamResponse:
    await call.clients.auth.RequestEmailChange(
        auth_service_pb2.RequestEmailChangeRequest(
            new_email=call.body["new_email"], password=call.body["password"]
        ),
        metadata=call.metadata(),
    )
    return empty_response(202)


async def delete_me(call: Call) -> web.StreamResponse:
    await call.clients.auth.DeleteAccount(
        auth_service_pb2.DeleteAccountRequest(password=call.body["password"]),
        metadata=call.metadata(),
    )
    call.sessions.evict_user(call.user.user_id)
    # Sign-in stops at once; the purge of everything else finishes in the background.
    return empty_response(202)


ROUTES = (
    RouteSpec(
        method="GET",
        path="/v1/me",
        handler=get_me,
        operation_id="getMe",
        summary="My account",
        tag="me",
        response_schema=ACCOUNT_SCHEMA,
        auth=True,
        errors=(401,),
    ),
    RouteSpec(
        method="PATCH",
        path="/v1/me",
        handler=update_me,
        operation_id="updateMe",
        summary="Change my profile; null clears a field",
        tag="me",
        request_schema=UPDATE_SCHEMA,
        response_schema=ACCOUNT_SCHEMA,
        auth=True,
        errors=(401, 422),
    ),
    RouteSpec(
        method="DELETE",
        path="/v1/me",
        handler=delete_me,
        operation_id="deleteMe",
        summary="Delete my account and everything it owns",
        tag="me",
        request_schema=DELETE_SCHEMA,
        response_status=202,
        auth=True,
        errors=(401, 422, 423),
    ),
    RouteSpec(
        method="POST",
        path="/v1/me/password",
        handler=change_password,
        operation_id="changePassword",
        summary="Change my password",
        tag="me",
        request_schema=CHANGE_PASSWORD_SCHEMA,
        response_status=204,
        auth=True,
        errors=(401, 422, 423),
        field_names=NEW_PASSWORD_FIELD,
    ),
    RouteSpec(
        method="POST",
        path="/v1/me/email",
        handler=change_email,
        operation_id="changeEmail",
        summary="Start an email change; it completes when the new address is confirmed",
        tag="me",
        request_schema=CHANGE_EMAIL_SCHEMA,
        response_status=202,
        auth=True,
        errors=(401, 409, 422, 423),
    ),
)
