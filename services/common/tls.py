"""TLS material for gRPC: server credentials with client-certificate checks, and channels.

Inside the cluster every hop is mutual TLS: services present their certificate and require
one signed by the internal CA from their callers, which is how sharing knows that a tuple
write comes from roster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from services.common.config import Env
from services.common.grpc_client import CallerChannel


@dataclass(frozen=True)
class TlsFiles:
    """A certificate, its key, and the CA that signs the peers we accept."""

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def from_env(cls, env: Env, prefix: str) -> TlsFiles:
        """Reads ``<prefix>_TLS_CERT``, ``<prefix>_TLS_KEY`` and ``<prefix>_TLS_CA``."""
        return cls(
            cert=env.file(f"{prefix}_TLS_CERT"),
            key=env.file(f"{prefix}_TLS_KEY"),
            ca=env.file(f"{prefix}_TLS_CA"),
        )

    def server_credentials(self) -> grpc.ServerCredentials:
        """Serves with our certificate and requires a client certificate from the CA."""
        return grpc.ssl_server_credentials(
            [(self.key.read_bytes(), self.cert.read_bytes())],
            root_certificates=self.ca.read_bytes(),
            require_client_auth=True,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Trusts only the CA and presents our certificate."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes(),
            certificate_chain=self.cert.read_bytes(),
        )


@dataclass(frozen=True)
class GrpcTarget:
    """Where a service answers, and the name its certificate must carry.

    ``server_name`` None checks the address's own host name, as in the cluster (the Service's
    DNS name is in the certificate). The local stack and the tests reach every service on
    loopback and name the component instead, so a service's leaf need not vouch for localhost.
    """

    address: str
    server_name: str | None = None

    @classmethod
    def from_env(cls, env: Env, name: str, default: str) -> GrpcTarget:
        """``<X>_TARGET`` (host:port) and the optional ``<X>_SERVER_NAME`` beside it."""
        if not name.endswith("_TARGET"):
            raise ValueError(f"{name} does not end in _TARGET")
        # Validated as host:port but passed to gRPC as written, so DNS names stay names.
        env.address(name, default)
        server_name = env.optional_str(name.removesuffix("_TARGET") + "_SERVER_NAME")
        return cls(env.str(name, default), server_name)


# Channel options every client uses: long-lived HTTP/2 connections kept warm, and
# no port sharing with a stale server in tests.
CHANNEL_OPTIONS: tuple[tuple[str, int | str], ...] = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.keepalive_permit_without_calls", 1),
)


def secure_channel(
    target: str | GrpcTarget,
    tls: TlsFiles,
    *,
    server_name: str | None = None,
    unary_timeout: float | None = None,
) -> grpc.aio.Channel:
    """An mTLS channel to ``target`` whose calls, unary and streaming, forward the request id
    and end before the served call's deadline (``grpc_client.py``); ``server_name`` (else the
    target's) overrides the name checked in the certificate, and ``unary_timeout`` is the
    default deadline of unary calls (the gateway's)."""
    if isinstance(target, GrpcTarget):
        server_name = server_name or target.server_name
        target = target.address
    options: list[tuple[str, int | str]] = list(CHANNEL_OPTIONS)
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    # No interceptors: they would make every call an InterceptedUnaryUnaryCall (a Task more).
    channel = grpc.aio.secure_channel(target, tls.channel_credentials(), options=options)
    return CallerChannel(channel, unary_timeout)


SPIFFE_TRUST_DOMAIN = "trackcc"
SPIFFE_PREFIX = f"spiffe://{SPIFFE_TRUST_DOMAIN}/"


def spiffe_id(component: str) -> str:
    """The URI SAN that names a component to its peers: ``spiffe://trackcc/<component>``."""
    return SPIFFE_PREFIX + component


def peer_component(context: grpc.aio.ServicerContext) -> str | None:
    """The component that the authenticated client certificate names, if any.

    A peer is known by the SPIFFE ID in its certificate's URI SAN (``spiffe://trackcc/roster``),
    which gRPC checks and exposes as ``peer_spiffe_id`` only when the certificate carries
    exactly one; a common name alone proves nothing (any name can be put there).
    """
    ids = context.auth_context().get("peer_spiffe_id") or []
    if len(ids) != 1:
        return None
    spiffe_id = ids[0].decode(errors="replace")
    if not spiffe_id.startswith(SPIFFE_PREFIX):
        return None
    component = spiffe_id.removeprefix(SPIFFE_PREFIX)
    return component if component.isascii() and component.isalpha() else None
