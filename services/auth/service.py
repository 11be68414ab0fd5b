"""Wiring of the auth service: its definition and the parts built from settings."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import grpc
from prometheus_client import CollectorRegistry

from services.auth.config import AuthSettings
from services.auth.deletion import DeletionWorker
from services.auth.metrics import AuthMetrics
from services.auth.password_check import PasswordCheck
from services.auth.passwords import PasswordHashing
from services.auth.purge_clients import GrpcPurgeClients, PurgeClients
from services.auth.rpc_base import Clock, Deps
from services.auth.server import AuthServicer
from services.auth.sessions import SessionPolicy
from services.common.config import Env
from services.common.jwks_reload import keys_dir_verifier
from services.common.outbox import OutboxWorker
from services.common.service_main import ServiceDefinition
from services.common.timestamps import utc_now
from services.common.tls import TlsFiles
from services.common.tokens import TokenSigner, jwks_document
from trackcc.auth.v1 import auth_service_pb2, auth_service_pb2_grpc


class AuthParts:
    """The auth servicer and what it owns: hash workers, the mail and deletion workers."""

    def __init__(
        self,
        servicer: AuthServicer,
        hashing: PasswordHashing,
        outbox: OutboxWorker,
        deletion: DeletionWorker,
    ) -> None:
        self._servicer = servicer
        self._hashing = hashing
        self.outbox = outbox
        self.deletion = deletion

    def register(self, server: grpc.aio.Server) -> None:
        auth_service_pb2_grpc.add_AuthServiceServicer_to_server(self._servicer, server)

    async def aclose(self) -> None:
        await self.deletion.aclose()
        await self.outbox.aclose()
        self._hashing.close()


def create_parts(
    settings: AuthSettings,
    pool: asyncpg.Pool,
    registry: CollectorRegistry,
    purge: PurgeClients,
    clock: Clock = utc_now,
) -> AuthParts:
    """Builds the servicer and its collaborators from settings; starts the enabled workers."""
    metrics = AuthMetrics(registry)
    hashing = PasswordHashing(settings.hash_concurrency, observe=metrics.hash_time)
    keys = list(settings.signing_keys)
    jwks = jwks_document(keys)
    signer = TokenSigner(
        keys,
        settings.active_kid,
        settings.issuer,
        settings.audience,
        settings.access_token_ttl_seconds,
        clock=lambda: clock().timestamp(),
    )
    # auth checks its own tokens with its own keys (followed on rotation); other services read
    # the JWKS file.
    verifier = keys_dir_verifier(settings.keys_dir, settings.issuer, settings.audience)
    outbox = OutboxWorker(
        pool, settings.smtp, registry, clock=clock, poll_seconds=settings.outbox_poll_seconds
    )
    if settings.outbox_enabled:
        outbox.start()
    deletion = DeletionWorker(
        pool,
        purge,
        clock,
        poll_seconds=settings.deletion_poll_seconds,
        on_mail=outbox.wake,
    )
    if settings.deletion_worker_enabled:
        deletion.start()
    password_check = PasswordCheck(
        pool, hashing, metrics, settings.public_url, clock=clock, wake_outbox=outbox.wake
    )
    deps = Deps(
        pool=pool,
        hashing=hashing,
        signer=signer,
        verifier=verifier,
        clock=clock,
        metrics=metrics,
        policy=SessionPolicy(idle=settings.session_idle, max_age=settings.session_max),
        public_url=settings.public_url,
        email_hmac_key=settings.email_hmac_key,
        password_check=password_check,
        jwks_json=json.dumps(jwks),
        wake_outbox=outbox.wake,
        wake_deletion=deletion.wake,
    )
    servicer = AuthServicer(deps)
    return AuthParts(servicer, hashing, outbox, deletion)


async def build(
    env: Env, pool: asyncpg.Pool, registry: CollectorRegistry, clock: Clock = utc_now
) -> AuthParts:
    settings = AuthSettings.from_env(env)
    # Purge calls present auth's own certificate, the one its server uses.
    tls = TlsFiles.from_env(env, "TRACKCC_AUTH")
    purge = GrpcPurgeClients(settings.roster_target, settings.sharing_target, tls)
    return create_parts(settings, pool, registry, purge, clock)


DEFINITION = ServiceDefinition(
    name="auth",
    env_prefix="TRACKCC_AUTH",
    service_names=(auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,),
    default_port=50051,
    default_metrics_port=9465,
    migrations=Path(__file__).parent / "migrations",
    build=build,
)
