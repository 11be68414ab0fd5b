"""Wiring of the sharing service: its definition and the parts built from settings."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import grpc
from prometheus_client import CollectorRegistry

from services.common.config import Env
from services.common.jwks_reload import jwks_file_verifier
from services.common.outbox import Clock, OutboxWorker
from services.common.service_main import ServiceDefinition
from services.common.timestamps import utc_now
from services.sharing.config import SharingSettings
from services.sharing.decision_leases import LeasePolicy
from services.sharing.rpc_base import Deps
from services.sharing.server import SharingServicer
from trackcc.sharing.v1 import sharing_service_pb2, sharing_service_pb2_grpc


class SharingParts:
    """The servicer and the mail worker of one process."""

    def __init__(self, servicer: SharingServicer, worker: OutboxWorker) -> None:
        self.servicer = servicer
        self.worker = worker

    def register(self, server: grpc.aio.Server) -> None:
        sharing_service_pb2_grpc.add_SharingServiceServicer_to_server(self.servicer, server)

    async def aclose(self) -> None:
        await self.worker.aclose()


def build_parts(
    settings: SharingSettings,
    pool: asyncpg.Pool,
    registry: CollectorRegistry,
    *,
    clock: Clock = utc_now,
    start_worker: bool = True,
) -> SharingParts:
    """The parts; tests pass a clock and drive the worker themselves (``start_worker=False``)."""
    verifier = jwks_file_verifier(settings.jwks_file, settings.jwt_issuer, settings.jwt_audience)
    worker = OutboxWorker(
        pool, settings.smtp, registry, clock=clock, poll_seconds=settings.outbox_poll_seconds
    )
    servicer = SharingServicer(
        Deps(
            pool=pool,
            verifier=verifier,
            clock=clock,
            public_url=settings.public_url,
            mail_enqueued=worker.wake,
            leases=LeasePolicy(settings.decision_lease_seconds),
        )
    )
    if start_worker:
        worker.start()
    return SharingParts(servicer, worker)


async def build(env: Env, pool: asyncpg.Pool, registry: CollectorRegistry) -> SharingParts:
    return build_parts(SharingSettings.from_env(env), pool, registry)


DEFINITION = ServiceDefinition(
    name="sharing",
    env_prefix="TRACKCC_SHARING",
    service_names=(sharing_service_pb2.DESCRIPTOR.services_by_name["SharingService"].full_name,),
    default_port=50053,
    default_metrics_port=9467,
    migrations=Path(__file__).parent / "migrations",
    build=build,
)
