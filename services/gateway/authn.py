"""Access-token verification in the gateway, with the JWK set reloaded when its file changes.

Verifying here turns a bad token into ``401`` without a gRPC hop; the services verify the
forwarded token again themselves. The JWK set is a mounted file that the deployment rewrites
on key rotation, so its modification time is checked (at most once a second) before use.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import jwt
from aiohttp import web

from services.common.tokens import (
    InvalidAccessToken,
    Principal,
    TokenVerifier,
    bearer_token,
    load_jwks_file,
)
from services.gateway.errors import ProblemError
from services.gateway.rate_limit import Clock

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


def authenticate(request: web.Request, verifier: JwksFileVerifier) -> tuple[Principal, str]:
    """The principal and the raw ``Authorization`` value, or a ``401`` problem."""
    authorization = request.headers.get("Authorization")
    token = bearer_token(authorization)
    if token is None or authorization is None:
        raise ProblemError(401, "unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = verifier.verify(token)
    except InvalidAccessToken:
        raise ProblemError(
            401, "invalid_token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None
    return principal, f"Bearer {token}"
