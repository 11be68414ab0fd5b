"""The gateway's settings, read once from the environment at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.config import ConfigError, Env
from services.common.tls import GrpcTarget, TlsFiles
from services.gateway.client_address import IpNetwork, parse_networks

PREFIX = "TRACKCC_GATEWAY"
# docs/api.md: a signed-out or revoked session's access token stops working within 60 s.
MAX_SESSION_CACHE_SECONDS = 60


@dataclass(frozen=True)
class GatewaySettings:
    """Where the gateway listens, what it calls, and the limits it enforces."""

    listen: tuple[str, int]
    metrics_listen: tuple[str, int]
    https_cert: Path
    https_key: Path
    tls: TlsFiles
    auth_target: GrpcTarget
    roster_target: GrpcTarget
    sharing_target: GrpcTarget
    grpc_timeout_seconds: float
    max_body_bytes: int
    jwks_file: Path
    jwt_issuer: str
    jwt_audience: str
    public_url: str
    rate_limit_per_minute: int
    log_level: str
    # How long auth's "this session is active" answer is trusted; the contract allows a
    # revoked session's token to work for at most 60 s, so that is the ceiling.
    session_cache_seconds: int = 30
    # Peers whose Forwarded / X-Forwarded-For is believed (client_address.py); none by default.
    trusted_proxies: tuple[IpNetwork, ...] = ()
    # How long the requests in flight get to finish after SIGTERM; the chart sets it, as for
    # the services, and gives the pod 10 s more before SIGKILL.
    shutdown_grace_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Env) -> GatewaySettings:
        """Reads every ``TRACKCC_GATEWAY_*`` variable and the shared JWT and URL settings."""
        return cls(
            listen=env.address(f"{PREFIX}_LISTEN", "127.0.0.1:8443"),
            metrics_listen=env.address(f"{PREFIX}_METRICS_LISTEN", "127.0.0.1:9464"),
            https_cert=env.file(f"{PREFIX}_HTTPS_CERT"),
            https_key=env.file(f"{PREFIX}_HTTPS_KEY"),
            tls=TlsFiles.from_env(env, PREFIX),
            auth_target=GrpcTarget.from_env(env, f"{PREFIX}_AUTH_TARGET", "localhost:50051"),
            roster_target=GrpcTarget.from_env(env, f"{PREFIX}_ROSTER_TARGET", "localhost:50052"),
            sharing_target=GrpcTarget.from_env(env, f"{PREFIX}_SHARING_TARGET", "localhost:50053"),
            grpc_timeout_seconds=env.float(f"{PREFIX}_GRPC_TIMEOUT_SECONDS", 5.0, minimum=0.1),
            max_body_bytes=env.int(f"{PREFIX}_MAX_BODY_BYTES", 65536, minimum=1024),
            jwks_file=env.jwks_file(),
            jwt_issuer=env.jwt_issuer(),
            jwt_audience=env.jwt_audience(),
            public_url=env.public_url(),
            rate_limit_per_minute=env.int("TRACKCC_RATE_LIMIT_PER_MINUTE", 30, minimum=1),
            log_level=env.choice(
                "TRACKCC_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"
            ),
            session_cache_seconds=env.int(
                f"{PREFIX}_SESSION_CACHE_SECONDS", 30, minimum=0, maximum=MAX_SESSION_CACHE_SECONDS
            ),
            trusted_proxies=_networks(env, f"{PREFIX}_TRUSTED_PROXIES"),
            shutdown_grace_seconds=env.float(f"{PREFIX}_SHUTDOWN_GRACE_SECONDS", 10.0, minimum=0.1),
        )


def _networks(env: Env, name: str) -> tuple[IpNetwork, ...]:
    try:
        return parse_networks(env.optional_str(name) or "")
    except ValueError as error:
        message = f"must be comma-separated IP addresses or CIDR ranges: {error}"
        raise ConfigError(name, message) from None
