"""Access-token verification in the gateway (the JWK set reloaded when its file changes, by
:mod:`services.common.jwks_reload`).

Verifying here turns a bad token into ``401`` without a gRPC hop; the services verify the
forwarded token again themselves. The session behind the token must still be active
(:mod:`services.gateway.session_states`).
"""

from __future__ import annotations

import logging

from aiohttp import web

from services.common import reasons
from services.common.tokens import InvalidAccessToken, Principal, Verifier, bearer_token
from services.gateway.errors import ProblemError
from services.gateway.session_states import SessionStates, SessionStateUnavailable

logger = logging.getLogger(__name__)


INVALID_TOKEN_HEADERS = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


async def authenticate(
    request: web.Request, verifier: Verifier, sessions: SessionStates
) -> tuple[Principal, str]:
    """The principal and the raw ``Authorization`` value, or a ``401`` problem.

    A token with a good signature whose session auth no longer lists as active (signed out,
    revoked, expired) is ``401 invalid_token`` like any other dead token; when auth cannot say,
    the answer is ``503``, never a pass.
    """
    authorization = request.headers.get("Authorization")
    token = bearer_token(authorization)
    if token is None or authorization is None:
        raise ProblemError(401, reasons.UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = verifier.verify(token)
    except InvalidAccessToken:
        raise ProblemError(401, reasons.INVALID_TOKEN, headers=INVALID_TOKEN_HEADERS) from None
    try:
        active = await sessions.is_active(principal.session_id, principal.user_id)
    except SessionStateUnavailable:
        raise ProblemError(503, reasons.UNAVAILABLE, headers={"Retry-After": "5"}) from None
    if not active:
        raise ProblemError(401, reasons.INVALID_TOKEN, headers=INVALID_TOKEN_HEADERS)
    return principal, f"Bearer {token}"
