"""Sharing, part one: invitations (create, list, accept, decline, resend, revoke).

Every route maps to one SharingService call; sharing decides who may do what (only the owner
invites, resends and revokes) and answers 404 to callers who may not see the resource, so that
its existence does not leak. Grants and the access log are in :mod:`.grants`.
"""

from __future__ import annotations

import logging

import grpc
from aiohttp import web

from services.common import reasons
from services.gateway.errors import FieldError, ProblemError
from services.gateway.routes.common import (
    IDEMPOTENCY_FIELDS,
    IDEMPOTENCY_KEY_PARAMETER,
    idempotency_key,
    list_schema,
    page_response,
    path_uuid,
)
from services.gateway.routes.sharing_json import (
    COLLECTIONS,
    CREATE_INVITATION_SCHEMA,
    DIRECTIONS,
    GRANT_SCHEMA,
    INVITATION_SCHEMA,
    INVITATION_TOKEN_SCHEMA,
    RELATIONS_PB,
    ROLES_PB,
    TOKEN_REASONS,
    future_timestamp,
    grant_json,
    invitation_json,
    resource_of,
)
from services.gateway.routes.spec import Call, Handler, RouteSpec, empty_response, json_response
from services.gateway.validation import PAGE_QUERY_PARAMETERS, page_params
from trackcc.auth.v1 import auth_service_pb2
from trackcc.sharing.v1 import sharing_service_pb2 as pb

logger = logging.getLogger(__name__)


def create_invitation(resource_type: str) -> Handler:
    async def handle(call: Call) -> web.StreamResponse:
        body = call.body
        request = pb.CreateInvitationRequest(
            resource=resource_of(call, resource_type),
            email=body["email"],
            relation=RELATIONS_PB[body["relation"]],
            role=ROLES_PB[body["role"]],
            message=body.get("message", ""),
            request_id=idempotency_key(call.request),
        )
        if "grant_expires_at" in body:
            request.grant_expire_time.CopyFrom(
                future_timestamp(body["grant_expires_at"], "grant_expires_at")
            )
        invitation = await call.clients.sharing.CreateInvitation(request, metadata=call.metadata())
        return json_response(invitation_json(invitation), 201)

    return handle


async def list_invitations(call: Call) -> web.StreamResponse:
    direction = DIRECTIONS.get(call.request.query.get("direction", ""))
    if direction is None:
        raise ProblemError(
            422,
            reasons.VALIDATION_FAILED,
            errors=[FieldError("direction", "must be one of: " + ", ".join(DIRECTIONS))],
        )
    page_size, page_token = page_params(call.request)
    response = await call.clients.sharing.ListInvitations(
        pb.ListInvitationsRequest(direction=direction, page_size=page_size, page_token=page_token),
        metadata=call.metadata(),
    )
    return page_response(map(invitation_json, response.invitations), response.next_page_token)


async def accept_invitation(call: Call) -> web.StreamResponse:
    grant = await call.clients.sharing.AcceptInvitation(
        pb.AcceptInvitationRequest(token=call.body["token"]), metadata=call.metadata()
    )
    if grant.proven_email:
        await _confirm_email_ownership(call, grant.proven_email)
    # grant_json leaves proven_email out: it is for auth, not part of the Grant resource.
    return json_response(grant_json(grant))


async def _confirm_email_ownership(call: Call, email: str) -> None:
    """Tells auth that the caller controls ``email`` (the invitation link was mailed there).

    The grant is committed by now, so a failure here must not fail the request: the token is
    spent and a retry would only get 410. Verification is a side benefit; the address can
    still be verified with the link from the signup mail.
    """
    try:
        await call.clients.auth.ConfirmEmailOwnership(
            auth_service_pb2.ConfirmEmailOwnershipRequest(email=email), metadata=call.metadata()
        )
    except grpc.aio.AioRpcError as error:
        logger.warning("email ownership not recorded: %s", error.code().name)


async def decline_invitation(call: Call) -> web.StreamResponse:
    await call.clients.sharing.DeclineInvitation(
        pb.DeclineInvitationRequest(token=call.body["token"]), metadata=call.metadata()
    )
    return empty_response()


async def resend_invitation(call: Call) -> web.StreamResponse:
    await call.clients.sharing.ResendInvitation(
        pb.ResendInvitationRequest(invitation_id=path_uuid(call.request.match_info["id"])),
        metadata=call.metadata(),
    )
    # The new token goes only to the invited address; the inviter never sees it.
    return empty_response(202)


async def revoke_invitation(call: Call) -> web.StreamResponse:
    await call.clients.sharing.RevokeInvitation(
        pb.RevokeInvitationRequest(invitation_id=path_uuid(call.request.match_info["id"])),
        metadata=call.metadata(),
    )
    return empty_response()


DIRECTION_PARAMETER = {
    "name": "direction",
    "in": "query",
    "required": True,
    "description": "`sent`: invitations I sent; `received`: addressed to my verified email.",
    "schema": {"type": "string", "enum": list(DIRECTIONS)},
}


def _invitation_route(collection: str, resource_type: str) -> RouteSpec:
    noun = "Class" if resource_type == "class" else "Student"
    return RouteSpec(
        method="POST",
        path=f"/v1/{collection}/{{id}}/invitations",
        handler=create_invitation(resource_type),
        operation_id=f"create{noun}Invitation",
        summary=f"Invite an email address to this {resource_type} (owner only)",
        tag="sharing",
        request_schema=CREATE_INVITATION_SCHEMA,
        response_status=201,
        response_schema=INVITATION_SCHEMA,
        auth=True,
        errors=(401, 403, 404, 409, 422),
        parameters=(IDEMPOTENCY_KEY_PARAMETER,),
        field_names=IDEMPOTENCY_FIELDS,
    )


ROUTES = (
    *(_invitation_route(collection, kind) for collection, kind in COLLECTIONS.items()),
    RouteSpec(
        method="GET",
        path="/v1/invitations",
        handler=list_invitations,
        operation_id="listInvitations",
        summary="Invitations I sent, or those addressed to my email",
        tag="sharing",
        response_schema=list_schema(INVITATION_SCHEMA),
        auth=True,
        errors=(401, 422),
        parameters=(DIRECTION_PARAMETER, *PAGE_QUERY_PARAMETERS),
    ),
    # Fixed paths before /v1/invitations/{id}, so that "accept" is never taken for an id.
    RouteSpec(
        method="POST",
        path="/v1/invitations/accept",
        handler=accept_invitation,
        operation_id="acceptInvitation",
        summary="Accept an invitation with the token from the mail; creates the grant",
        tag="sharing",
        request_schema=INVITATION_TOKEN_SCHEMA,
        response_schema=GRANT_SCHEMA,
        auth=True,
        errors=(400, 401, 403, 410, 422),
        reason_status=TOKEN_REASONS,
    ),
    RouteSpec(
        method="POST",
        path="/v1/invitations/decline",
        handler=decline_invitation,
        operation_id="declineInvitation",
        summary="Decline an invitation with the token from the mail",
        tag="sharing",
        request_schema=INVITATION_TOKEN_SCHEMA,
        response_status=204,
        auth=True,
        errors=(400, 401, 403, 410, 422),
        reason_status=TOKEN_REASONS,
    ),
    RouteSpec(
        method="POST",
        path="/v1/invitations/{id}/resend",
        handler=resend_invitation,
        operation_id="resendInvitation",
        summary="Mail the invitation again with a new token; the old token stops working",
        tag="sharing",
        response_status=202,
        auth=True,
        errors=(401, 403, 404, 410),
    ),
    RouteSpec(
        method="DELETE",
        path="/v1/invitations/{id}",
        handler=revoke_invitation,
        operation_id="revokeInvitation",
        summary="Revoke a pending invitation",
        tag="sharing",
        response_status=204,
        auth=True,
        errors=(401, 403, 404, 410),
    ),
)
