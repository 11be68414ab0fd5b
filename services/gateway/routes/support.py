"""Support: locked accounts, unlocks, and the unlock requests owners send from their mail."""

from __future__ import annotations

from aiohttp import web

from services.gateway.routes.auth_json import (
    ADMIN_ACCOUNT_SCHEMA,
    UNLOCK_REQUEST_SCHEMA,
    admin_account_json,
    unlock_request_json,
)
from services.gateway.routes.common import (
    NOT_BLANK,
    TOKEN_SCHEMA,
    list_schema,
    object_schema,
    path_uuid,
)
from services.gateway.routes.spec import Call, RouteSpec, empty_response, json_response
from services.gateway.validation import PAGE_QUERY_PARAMETERS, bool_param, page_params
from trackcc.auth.v1 import auth_service_pb2

# Checked here to spare a hop; auth checks the role again from the token.
SUPPORT_ONLY = frozenset({"support"})

# auth keeps at most 500 characters of reason in the audit log.
UNLOCK_SCHEMA = object_schema(
    ["reason"],
    {"reason": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": NOT_BLANK}},
)
UNLOCK_REQUEST_BODY_SCHEMA = object_schema(["token"], {"token": TOKEN_SCHEMA})


async def list_accounts(call: Call) -> web.StreamResponse:
    locked = bool_param(call.request, "locked")
    page_size, page_token = page_params(call.request)
    response = await call.clients.auth.ListAdminAccounts(
        auth_service_pb2.ListAdminAccountsRequest(
            locked_only=locked, page_size=page_size, page_token=page_token
        ),
        metadata=call.metadata(),
    )
    return json_response(
        {
            "items": [admin_account_json(account) for account in response.accounts],
            "next_page_token": response.next_page_token,
        }
    )


async def unlock_account(call: Call) -> web.StreamResponse:
    account_id = path_uuid(call.request.match_info["id"])
    await call.clients.auth.UnlockAccount(
        auth_service_pb2.UnlockAccountRequest(account_id=account_id, reason=call.body["reason"]),
        metadata=call.metadata(),
    )
    return empty_response()


async def list_unlock_requests(call: Call) -> web.StreamResponse:
    page_size, page_token = page_params(call.request)
    response = await call.clients.auth.ListUnlockRequests(
        auth_service_pb2.ListUnlockRequestsRequest(page_size=page_size, page_token=page_token),
        metadata=call.metadata(),
    )
    return json_response(
        {
            "items": [unlock_request_json(item) for item in response.unlock_requests],
            "next_page_token": response.next_page_token,
        }
    )


async def create_unlock_request(call: Call) -> web.StreamResponse:
    await call.clients.auth.CreateUnlockRequest(
        auth_service_pb2.CreateUnlockRequestRequest(token=call.body["token"]),
        metadata=call.metadata(),
    )
    return empty_response(202)


LOCKED_PARAMETER = {
    "name": "locked",
    "in": "query",
    "required": False,
    "schema": {"type": "boolean", "default": False},
}

ROUTES = (
    RouteSpec(
        method="GET",
        path="/v1/admin/accounts",
        handler=list_accounts,
        operation_id="listAdminAccounts",
        summary="Accounts, optionally only the locked ones (support only)",
        tag="support",
        response_schema=list_schema(ADMIN_ACCOUNT_SCHEMA),
        auth=True,
        roles=SUPPORT_ONLY,
        errors=(401, 403, 422),
        parameters=(LOCKED_PARAMETER, *PAGE_QUERY_PARAMETERS),
    ),
    RouteSpec(
        method="POST",
        path="/v1/admin/accounts/{id}/unlock",
        handler=unlock_account,
        operation_id="unlockAccount",
        summary="Unlock an account; the reason goes to the audit log (support only)",
        tag="support",
        request_schema=UNLOCK_SCHEMA,
        response_status=204,
        auth=True,
        roles=SUPPORT_ONLY,
        errors=(401, 403, 404, 422),
    ),
    RouteSpec(
        method="GET",
        path="/v1/admin/unlock-requests",
        handler=list_unlock_requests,
        operation_id="listUnlockRequests",
        summary="Open unlock requests (support only)",
        tag="support",
        response_schema=list_schema(UNLOCK_REQUEST_SCHEMA),
        auth=True,
        roles=SUPPORT_ONLY,
        errors=(401, 403, 422),
        parameters=PAGE_QUERY_PARAMETERS,
    ),
    RouteSpec(
        method="POST",
        path="/v1/unlock-requests",
        handler=create_unlock_request,
        operation_id="createUnlockRequest",
        summary="Ask support for an unlock with the token from the lockout notice",
        tag="support",
        request_schema=UNLOCK_REQUEST_BODY_SCHEMA,
        response_status=202,
        rate_limited=True,
        errors=(400, 422, 429),
        reason_status={"invalid_token": 400},
    ),
)
