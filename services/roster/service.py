"""Wiring of the roster service: its definition and the parts built from settings."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import grpc
from prometheus_client import CollectorRegistry

from services.common.config import Env
from services.common.jwks_reload import jwks_file_verifier
from services.common.service_main import ServiceDefinition
from services.roster.config import RosterSettings
from services.roster.decode_budget import DecodeBudget
from services.roster.metrics import RosterMetrics
from services.roster.photo_slots import PhotoSlots
from services.roster.reconciler import Reconciler
from services.roster.rpc_base import Deps
from services.roster.server import RosterServicer
from services.roster.sharing_client import Authorizer, SharingChannel
from trackcc.roster.v1 import roster_service_pb2, roster_service_pb2_grpc

# Decoding is memory-heavy (a 40-megapixel PNG takes 160 MB): two at a time per process.
PHOTO_WORKERS = 2


class RosterParts:
    """The servicer, the channel to sharing, the photo workers and the reconciler."""

    def __init__(
        self,
        servicer: RosterServicer,
        sharing: SharingChannel,
        executor: ThreadPoolExecutor,
        reconciler: Reconciler,
    ) -> None:
        self.servicer = servicer
        self.sharing = sharing
        self.executor = executor
        self.reconciler = reconciler

    def register(self, server: grpc.aio.Server) -> None:
        roster_service_pb2_grpc.add_RosterServiceServicer_to_server(self.servicer, server)

    async def aclose(self) -> None:
        await self.reconciler.aclose()
        await self.sharing.aclose()
        self.executor.shutdown(wait=True, cancel_futures=True)


def build_parts(
    settings: RosterSettings,
    pool: asyncpg.Pool,
    registry: CollectorRegistry,
    *,
    wrap_authorizer: Callable[[Authorizer], Authorizer] = lambda a: a,
    start_reconciler: bool = True,
) -> RosterParts:
    """The parts; tests wrap the authorizer to fail a step on purpose, and drive the
    reconciler themselves."""
    verifier = jwks_file_verifier(settings.jwks_file, settings.jwt_issuer, settings.jwt_audience)
    sharing = SharingChannel(settings.sharing_target, settings.tls, settings.sharing_server_name)
    authorizer = wrap_authorizer(sharing.authorizer)
    executor = ThreadPoolExecutor(max_workers=PHOTO_WORKERS, thread_name_prefix="photos")
    metrics = RosterMetrics(registry)
    servicer = RosterServicer(
        Deps(
            pool=pool,
            authorizer=authorizer,
            verifier=verifier,
            photo_limits=settings.photos,
            photo_executor=executor,
            photo_slots=PhotoSlots(settings.photo_concurrency, metrics),
            photo_decode_budget=DecodeBudget(settings.photo_decode_budget_bytes),
            metrics=metrics,
        )
    )
    reconciler = Reconciler(
        pool,
        sharing.authorizer,
        after_seconds=settings.reconcile_after_seconds,
        interval_seconds=settings.reconcile_interval_seconds,
    )
    if start_reconciler:
        reconciler.start()
    return RosterParts(servicer, sharing, executor, reconciler)


async def build(env: Env, pool: asyncpg.Pool, registry: CollectorRegistry) -> RosterParts:
    return build_parts(RosterSettings.from_env(env), pool, registry)


DEFINITION = ServiceDefinition(
    name="roster",
    env_prefix="TRACKCC_ROSTER",
    service_names=(roster_service_pb2.DESCRIPTOR.services_by_name["RosterService"].full_name,),
    default_port=50052,
    default_metrics_port=9466,
    migrations=Path(__file__).parent / "migrations",
    build=build,
)
