"""Access-token verification in the gateway, with the JWK set reloaded when its file changes.

Verifying here turns a bad token into ``401`` without a gRPC hop; the services verify the
forwarded token again themselves. The session behind the token must still be active
(:mod:`services.gateway.session_states`). The JWK set is a mounted file that the deployment
rewrites on key rotation, so its modification time is checked (at most once a second).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import jwt
from aiohttp import web

from services.common import reasons
from services.common.tokens import (
    InvalidAccessToken,
    Principal,
    TokenVerifier,
    bearer_token,
    load_jwks_file,
)
from services.gateway.errors import ProblemError
from services.gateway.rate_limit import Clock
from services.gateway.session_states import SessionStates, SessionStateUnavailable

logger = logging.getLogger(__name__)


class JwksFileVerifier:
    """A :class:`TokenVerifier` whose keys follow the JWK set file."""

    def __init__(
        self,
        jwks_file: Path,
        issuer: str,
        audience: str,
        clock: Clock = time.monotonic,
        check_interval_seconds: float = 1.0,
    ) -> None:
        self._file = jwks_file
        self._clock = clock
        self._interval = check_interval_seconds
        self._mtime = jwks_file.stat().st_mtime_ns
        self._checked_at = clock()
        self._verifier = TokenVerifier(load_jwks_file(jwks_file), issuer, audience)

    def _reload_if_changed(self) -> None:
        now = self._clock()
        if now - self._checked_at < self._interval:
            return
        self._checked_at = now
        try:
            mtime = self._file.stat().st_mtime_ns
            if mtime == self._mtime:
                return
            self._verifier.replace_keys(load_jwks_file(self._file))
            self._mtime = mtime
            logger.info("jwks reloaded")
        except (OSError, ValueError, jwt.PyJWTError):
            # A half-written file during rotation: keep the old keys and look again later.
            logger.warning("jwks reload failed; keeping the previous keys")

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; :class:`InvalidAccessToken` otherwise."""
        self._reload_if_changed()
        return self._verifier.verify(token)


INVALID_TOKEN_HEADERS = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


async def authenticate(
    request: web.Request, verifier: JwksFileVerifier, sessions: SessionStates
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
