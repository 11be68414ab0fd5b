"""Settings of the sharing service, read once from the environment at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.config import ConfigError, Env
from services.common.outbox import SmtpSettings
from services.sharing.decision_leases import MAX_LEASE_SECONDS


@dataclass(frozen=True)
class SharingSettings:
    """What the servicer and its mail worker need beyond the common settings."""

    public_url: str
    smtp: SmtpSettings
    jwks_file: Path
    jwt_issuer: str
    jwt_audience: str
    outbox_poll_seconds: float
    # How long roster may reuse an allowed read's answer; revocations wait as long (0: off).
    decision_lease_seconds: float

    @classmethod
    def from_env(cls, env: Env) -> SharingSettings:
        """Reads the TRACKCC_* variables; a bad value raises ConfigError naming it."""
        return cls(
            # Links are built from this alone, never from a request's Host header.
            public_url=env.public_url(),
            smtp=SmtpSettings.from_env(env),
            jwks_file=env.jwks_file(),
            jwt_issuer=env.jwt_issuer(),
            jwt_audience=env.jwt_audience(),
            outbox_poll_seconds=env.float("TRACKCC_SHARING_OUTBOX_POLL_SECONDS", 2.0, minimum=0.05),
            decision_lease_seconds=_decision_lease_seconds(env),
        )


def _decision_lease_seconds(env: Env) -> float:
    """services/sharing/decision_leases.py: every revocation waits this long after its commit."""
    name = "TRACKCC_SHARING_DECISION_LEASE_SECONDS"
    seconds = env.float(name, 1.0)
    if seconds > MAX_LEASE_SECONDS:
        raise ConfigError(name, f"must be at most {MAX_LEASE_SECONDS}, got {seconds}")
    return seconds
