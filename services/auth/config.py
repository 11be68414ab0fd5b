"""The auth service's own settings, read once at start-up from the environment."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from services.common.config import ConfigError, Env
from services.common.outbox import SmtpSettings
from services.common.tls import GrpcTarget
from services.common.tokens import SigningKey, load_signing_keys

KEYS_DIR = "TRACKCC_AUTH_JWT_KEYS_DIR"
ACTIVE_KID = "TRACKCC_AUTH_JWT_ACTIVE_KID"
ACCESS_TOKEN_TTL = "TRACKCC_AUTH_ACCESS_TOKEN_TTL_SECONDS"
HASH_CONCURRENCY = "TRACKCC_AUTH_HASH_CONCURRENCY"
SESSION_IDLE_DAYS = "TRACKCC_AUTH_SESSION_IDLE_DAYS"
SESSION_MAX_DAYS = "TRACKCC_AUTH_SESSION_MAX_DAYS"
EMAIL_HMAC_KEY = "TRACKCC_AUTH_EMAIL_HMAC_KEY"

# docs/api.md: access tokens live at most 15 minutes, so a revoked session's token dies soon.
MAX_ACCESS_TOKEN_TTL_SECONDS = 900


@dataclass(frozen=True)
class AuthSettings:
    """Signing keys, token claims and hashing limits of the auth service."""

    signing_keys: tuple[SigningKey, ...]
    # Where they were read from: the verifier follows it, so a key file removed is a key retired.
    keys_dir: Path
    active_kid: str
    issuer: str
    audience: str
    access_token_ttl_seconds: int
    hash_concurrency: int
    # NIST SP 800-63B (section 4.2.3, AAL1 reauthentication) allows 30 days between
    # authentications; docs/api.md reads that as 30 days idle and caps a session at 90 days.
    session_idle: dt.timedelta
    session_max: dt.timedelta
    # Key of the HMAC that names unknown emails in the lockout table (lockout.py says why).
    email_hmac_key: bytes
    # Every link in a mail is built from this alone, never from a request's Host header.
    public_url: str
    smtp: SmtpSettings
    outbox_enabled: bool
    outbox_poll_seconds: float
    roster_target: GrpcTarget
    sharing_target: GrpcTarget
    deletion_worker_enabled: bool
    deletion_poll_seconds: float

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
            keys_dir=Path(env.str(KEYS_DIR)),
            active_kid=active_kid,
            issuer=env.jwt_issuer(),
            audience=env.jwt_audience(),
            access_token_ttl_seconds=env.int(
                ACCESS_TOKEN_TTL, 900, minimum=60, maximum=MAX_ACCESS_TOKEN_TTL_SECONDS
            ),
            # Each concurrent argon2id hash holds 19 MiB and one core; the cap keeps a
            # sign-in flood from starving everything else on a small machine.
            hash_concurrency=env.int(HASH_CONCURRENCY, 2, minimum=1, maximum=64),
            session_idle=dt.timedelta(days=env.int(SESSION_IDLE_DAYS, 30, minimum=1, maximum=30)),
            session_max=dt.timedelta(days=env.int(SESSION_MAX_DAYS, 90, minimum=1, maximum=365)),
            email_hmac_key=_email_hmac_key(env, keys),
            public_url=env.public_url(),
            smtp=SmtpSettings.from_env(env),
            outbox_enabled=env.bool("TRACKCC_AUTH_OUTBOX_ENABLED", True),
            outbox_poll_seconds=env.float("TRACKCC_AUTH_OUTBOX_POLL_SECONDS", 2.0, minimum=0.05),
            roster_target=GrpcTarget.from_env(env, "TRACKCC_AUTH_ROSTER_TARGET", "localhost:50052"),
            sharing_target=GrpcTarget.from_env(
                env, "TRACKCC_AUTH_SHARING_TARGET", "localhost:50053"
            ),
            deletion_worker_enabled=env.bool("TRACKCC_AUTH_DELETION_WORKER_ENABLED", True),
            deletion_poll_seconds=env.float(
                "TRACKCC_AUTH_DELETION_POLL_SECONDS", 5.0, minimum=0.05
            ),
        )


def _email_hmac_key(env: Env, keys: list[SigningKey]) -> bytes:
    """The configured key (hex, at least 32 bytes), else one derived from the oldest
    signing key, so the local stack needs no extra secret. Rotating that key away only
    resets the counters of unknown emails."""
    configured = env.optional_str(EMAIL_HMAC_KEY)
    if configured is not None:
        try:
            key = bytes.fromhex(configured)
        except ValueError:
            raise ConfigError(EMAIL_HMAC_KEY, "must be hex") from None
        if len(key) < 32:
            raise ConfigError(EMAIL_HMAC_KEY, "must hold at least 32 bytes")
        return key
    raw = keys[0].private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return hashlib.sha256(b"trackcc unknown-email hmac v1\0" + raw).digest()


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
