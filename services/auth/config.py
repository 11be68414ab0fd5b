"""The auth service's own settings, read once at start-up from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm

from services.common.config import ConfigError, Env
from services.common.tokens import SigningKey, load_signing_keys

KEYS_DIR = "TRACKCC_AUTH_JWT_KEYS_DIR"
ACTIVE_KID = "TRACKCC_AUTH_JWT_ACTIVE_KID"
ISSUER = "TRACKCC_JWT_ISSUER"
AUDIENCE = "TRACKCC_JWT_AUDIENCE"
ACCESS_TOKEN_TTL = "TRACKCC_AUTH_ACCESS_TOKEN_TTL_SECONDS"
HASH_CONCURRENCY = "TRACKCC_AUTH_HASH_CONCURRENCY"

# API.md: access tokens live at most 15 minutes, so a revoked session's token dies soon.
MAX_ACCESS_TOKEN_TTL_SECONDS = 900


@dataclass(frozen=True)
class AuthSettings:
    """Signing keys, token claims and hashing limits of the auth service."""

    signing_keys: tuple[SigningKey, ...]
    active_kid: str
    issuer: str
    audience: str
    access_token_ttl_seconds: int
    hash_concurrency: int

    @classmethod
    def from_env(cls, env: Env) -> AuthSettings:
        """Reads and checks every variable; a bad one raises ConfigError naming it."""
        keys = _read_signing_keys(env)
        kids = [key.kid for key in keys]
        # Keys are sorted by kid and kids start with their creation date, so the last one
        # is the newest: publishing a new key file is enough to rotate unless pinned.
        active_kid = env.optional_str(ACTIVE_KID) or kids[-1]
        if active_kid not in kids:
            raise ConfigError(ACTIVE_KID, f"names {active_kid!r}, which is not a key in {KEYS_DIR}")
        return cls(
            signing_keys=tuple(keys),
            active_kid=active_kid,
            issuer=env.str(ISSUER, "trackcc"),
            audience=env.str(AUDIENCE, "trackcc-api"),
            access_token_ttl_seconds=env.int(
                ACCESS_TOKEN_TTL, 900, minimum=60, maximum=MAX_ACCESS_TOKEN_TTL_SECONDS
            ),
            # Each concurrent argon2id hash holds 19 MiB and one core; the cap keeps a
            # sign-in flood from starving everything else on a small machine.
            hash_concurrency=env.int(HASH_CONCURRENCY, 2, minimum=1, maximum=64),
        )


def _read_signing_keys(env: Env) -> list[SigningKey]:
    directory = Path(env.str(KEYS_DIR))
    if not directory.is_dir():
        raise ConfigError(KEYS_DIR, f"names {str(directory)!r}, which is not a directory")
    try:
        keys = load_signing_keys(directory)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as error:
        # The message names the file but never includes key material.
        raise ConfigError(KEYS_DIR, f"holds an unreadable key: {error}") from None
    if not keys:
        raise ConfigError(KEYS_DIR, f"holds no *.pem Ed25519 keys in {str(directory)!r}")
    return keys
