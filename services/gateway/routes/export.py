"""``GET /v1/me/export``: the caller's data from auth, roster and sharing, asked in parallel.

Every part comes from an RPC the services already serve for the caller's own token, so the
export can show nothing the caller could not read one route at a time. sharing's lists are
paginated; they are read to the end, with a bound so that one export cannot run forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from services.common import reasons
from services.gateway.errors import ProblemError
from services.gateway.routes.export_json import EXPORT_SCHEMA, ExportParts, export_json
from services.gateway.routes.spec import Call, RouteSpec, json_response
from services.gateway.validation import MAX_PAGE_SIZE
from trackcc.auth.v1 import auth_service_pb2
from trackcc.roster.v1 import roster_service_pb2
from trackcc.sharing.v1 import sharing_service_pb2 as spb

T = TypeVar("T")
# 100 pages of 200: far beyond any real account; past it the export fails rather than lie.
MAX_PAGES = 100

# Fetches one page after the given token: the items and the next token ("" at the end).
PageFetch = Callable[[str], Awaitable[tuple[list[T], str]]]


async def all_pages(fetch: PageFetch[T]) -> list[T]:
    items: list[T] = []
    token = ""
    for _ in range(MAX_PAGES):
        page, token = await fetch(token)
        items.extend(page)
        if not token:
            return items
    raise ProblemError(500, reasons.INTERNAL)


def _invitations(
    call: Call, direction: spb.InvitationDirection.ValueType
) -> PageFetch[spb.Invitation]:
    async def fetch(token: str) -> tuple[list[spb.Invitation], str]:
        response = await call.clients.sharing.ListInvitations(
            spb.ListInvitationsRequest(
                direction=direction, page_size=MAX_PAGE_SIZE, page_token=token
            ),
            metadata=call.metadata(),
        )
        return list(response.invitations), response.next_page_token

    return fetch


def _shared_with_me(call: Call) -> PageFetch[spb.SharedResource]:
    async def fetch(token: str) -> tuple[list[spb.SharedResource], str]:
        response = await call.clients.sharing.ListSharedWithMe(
            spb.ListSharedWithMeRequest(page_size=MAX_PAGE_SIZE, page_token=token),
            metadata=call.metadata(),
        )
        return list(response.resources), response.next_page_token

    return fetch


async def export_me(call: Call) -> web.StreamResponse:
    metadata = call.metadata()
    account, roster, sent, received, shared = await asyncio.gather(
        call.clients.auth.ExportAccount(auth_service_pb2.ExportAccountRequest(), metadata=metadata),
        call.clients.roster.ExportUserData(
            roster_service_pb2.ExportUserDataRequest(), metadata=metadata
        ),
        all_pages(_invitations(call, spb.INVITATION_DIRECTION_SENT)),
        all_pages(_invitations(call, spb.INVITATION_DIRECTION_RECEIVED)),
        all_pages(_shared_with_me(call)),
    )
    parts = ExportParts(account, roster, sent, received, shared)
    response = json_response(export_json(parts, call.settings.public_url))
    response.headers["Content-Disposition"] = 'attachment; filename="trackcc-export.json"'
    return response


ROUTES = (
    RouteSpec(
        method="GET",
        path="/v1/me/export",
        handler=export_me,
        operation_id="exportMe",
        summary="Everything my account owns or entered, photos in base64, as one JSON document",
        tag="me",
        response_schema=EXPORT_SCHEMA,
        auth=True,
        errors=(401,),
    ),
)
