"""Sharing, part two: grants, the access log and what is shared with me.

Only the owner lists a resource's grants and reads its log (others get 404); a grant ends when
its owner revokes it or its grantee leaves, both through ``DELETE /v1/grants/{id}``.
"""

from __future__ import annotations

from aiohttp import web

from services.gateway.routes.common import list_schema, page_response, path_uuid
from services.gateway.routes.sharing_json import (
    ACCESS_LOG_ENTRY_SCHEMA,
    COLLECTIONS,
    GRANT_SCHEMA,
    SHARED_RESOURCE_SCHEMA,
    access_log_entry_json,
    grant_json,
    resource_of,
    shared_resource_json,
)
from services.gateway.routes.spec import Call, Handler, RouteSpec, empty_response
from services.gateway.validation import PAGE_QUERY_PARAMETERS, page_params
from trackcc.sharing.v1 import sharing_service_pb2 as pb


def list_grants(resource_type: str) -> Handler:
    async def handle(call: Call) -> web.StreamResponse:
        page_size, page_token = page_params(call.request)
        response = await call.clients.sharing.ListGrants(
            pb.ListGrantsRequest(
                resource=resource_of(call, resource_type),
                page_size=page_size,
                page_token=page_token,
            ),
            metadata=call.metadata(),
        )
        return page_response(map(grant_json, response.grants), response.next_page_token)

    return handle


def list_access_log(resource_type: str) -> Handler:
    async def handle(call: Call) -> web.StreamResponse:
        page_size, page_token = page_params(call.request)
        response = await call.clients.sharing.ListAccessLog(
            pb.ListAccessLogRequest(
                resource=resource_of(call, resource_type),
                page_size=page_size,
                page_token=page_token,
            ),
            metadata=call.metadata(),
        )
        return page_response(map(access_log_entry_json, response.entries), response.next_page_token)

    return handle


async def delete_grant(call: Call) -> web.StreamResponse:
    await call.clients.sharing.DeleteGrant(
        pb.DeleteGrantRequest(grant_id=path_uuid(call.request.match_info["id"])),
        metadata=call.metadata(),
    )
    return empty_response()


async def list_shared_with_me(call: Call) -> web.StreamResponse:
    page_size, page_token = page_params(call.request)
    response = await call.clients.sharing.ListSharedWithMe(
        pb.ListSharedWithMeRequest(page_size=page_size, page_token=page_token),
        metadata=call.metadata(),
    )
    return page_response(map(shared_resource_json, response.resources), response.next_page_token)


def _per_resource_routes(collection: str, resource_type: str) -> tuple[RouteSpec, ...]:
    noun = "Class" if resource_type == "class" else "Student"
    return (
        RouteSpec(
            method="GET",
            path=f"/v1/{collection}/{{id}}/grants",
            handler=list_grants(resource_type),
            operation_id=f"list{noun}Grants",
            summary=f"Who can see this {resource_type} (owner only)",
            tag="sharing",
            response_schema=list_schema(GRANT_SCHEMA),
            auth=True,
            errors=(401, 404, 422),
            parameters=PAGE_QUERY_PARAMETERS,
        ),
        RouteSpec(
            method="GET",
            path=f"/v1/{collection}/{{id}}/access-log",
            handler=list_access_log(resource_type),
            operation_id=f"list{noun}AccessLog",
            summary="Share events and non-owner reads and changes, newest first (owner only)",
            tag="sharing",
            response_schema=list_schema(ACCESS_LOG_ENTRY_SCHEMA),
            auth=True,
            errors=(401, 404, 422),
            parameters=PAGE_QUERY_PARAMETERS,
        ),
    )


ROUTES = (
    *(
        route
        for collection, resource_type in COLLECTIONS.items()
        for route in _per_resource_routes(collection, resource_type)
    ),
    RouteSpec(
        method="DELETE",
        path="/v1/grants/{id}",
        handler=delete_grant,
        operation_id="deleteGrant",
        summary="End a grant: the owner revokes it, or the grantee leaves",
        tag="sharing",
        response_status=204,
        auth=True,
        errors=(401, 404),
    ),
    RouteSpec(
        method="GET",
        path="/v1/shared-with-me",
        handler=list_shared_with_me,
        operation_id="listSharedWithMe",
        summary="Classes and students shared with me, with my relation and the owner's name",
        tag="sharing",
        response_schema=list_schema(SHARED_RESOURCE_SCHEMA),
        auth=True,
        errors=(401, 422),
        parameters=PAGE_QUERY_PARAMETERS,
    ),
)
