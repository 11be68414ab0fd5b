"""Token verification whose keys follow their source: a JWK set file, or auth's keys folder.

Keys are rotated by rewriting what is mounted (the JWK set Secret, auth's key files); a key
taken out must stop vouching for tokens without a restart of anything. The source's
modification time is checked at most once a second, and a source that cannot be read (a
half-written file during rotation) keeps the previous keys.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jwt

from services.common.tokens import (
    Principal,
    TokenVerifier,
    jwks_document,
    load_jwks_file,
    load_signing_keys,
)

logger = logging.getLogger(__name__)


class ReloadingVerifier:
    """A :class:`TokenVerifier` whose JWK set is loaded again when its source changes."""

    def __init__(
        self,
        load: Callable[[], Mapping[str, Any]],
        stamp: Callable[[], int],
        issuer: str,
        audience: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        check_interval_seconds: float = 1.0,
    ) -> None:
        self._load = load
        self._stamp = stamp
        self._clock = clock
        self._interval = check_interval_seconds
        self._seen = stamp()
        self._checked_at = clock()
        self._verifier = TokenVerifier(load(), issuer, audience)

    def _reload_if_changed(self) -> None:
        now = self._clock()
        if now - self._checked_at < self._interval:
            return
        self._checked_at = now
        try:
            stamp = self._stamp()
            if stamp == self._seen:
                return
            self._verifier.replace_keys(self._load())
            self._seen = stamp
            logger.info("signing keys reloaded")
        except (OSError, ValueError, jwt.PyJWTError):
            logger.warning("signing keys could not be reloaded; keeping the previous ones")

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; :class:`InvalidAccessToken` otherwise."""
        self._reload_if_changed()
        return self._verifier.verify(token)


def jwks_file_verifier(
    path: Path, issuer: str, audience: str, *, clock: Callable[[], float] = time.monotonic
) -> ReloadingVerifier:
    """Follows the JWK set file (gateway, roster, sharing)."""
    return ReloadingVerifier(
        lambda: load_jwks_file(path),
        lambda: path.stat().st_mtime_ns,
        issuer,
        audience,
        clock=clock,
    )


def keys_dir_verifier(directory: Path, issuer: str, audience: str) -> ReloadingVerifier:
    """Follows auth's own key folder: a key file removed is a key retired."""
    return ReloadingVerifier(
        lambda: jwks_document(load_signing_keys(directory)),
        lambda: directory.stat().st_mtime_ns,
        issuer,
        audience,
    )
