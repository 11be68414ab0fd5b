"""Who is calling: the service, from its mTLS certificate, and the end user, from the token.

Every service checks its callers here: :func:`require_caller` for methods only some services
may call (roster's and sharing's internal RPCs, auth's gateway-only ones), :func:`end_user`
for a user's call, which reaches a service only through the gateway with the user's access
token forwarded.
"""

from __future__ import annotations

import uuid

import grpc

from services.common import reasons
from services.common.errors import PermissionDenied, Unauthenticated
from services.common.tls import peer_component
from services.common.tokens import Principal, Verifier, principal_from_context

# The components the services' certificates name (spiffe://trackcc/<component>).
GATEWAY = "gateway"
AUTH = "auth"
ROSTER = "roster"
SHARING = "sharing"


def require_caller(context: grpc.aio.ServicerContext, *allowed: str) -> str:
    """The calling service's name, if it is one of ``allowed``; else PERMISSION_DENIED."""
    name = peer_component(context)
    if name is None or name not in allowed:
        raise PermissionDenied(
            "this service may not call this method", reason=reasons.CALLER_NOT_ALLOWED
        )
    return name


def token_uuid(value: str) -> uuid.UUID:
    """An id claim of a verified access token (``sub``, ``sid``) as a UUID."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Unauthenticated("invalid access token", reason=reasons.INVALID_TOKEN) from None


def end_user(context: grpc.aio.ServicerContext, verifier: Verifier) -> tuple[Principal, uuid.UUID]:
    """The end user of a user-facing call (which comes through the gateway only): the
    verified token and its user id."""
    require_caller(context, GATEWAY)
    principal = principal_from_context(context, verifier)
    return principal, token_uuid(principal.user_id)
