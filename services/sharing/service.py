"""Wiring of the sharing service: its definition and the parts built from settings."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import grpc
from prometheus_client import CollectorRegistry

from services.common.config import Env
from services.common.service_main import ServiceDefinition
from trackcc.sharing.v1 import sharing_service_pb2, sharing_service_pb2_grpc


class SharingParts:
    """The sharing servicer. Every method answers UNIMPLEMENTED until the sharing issue lands."""

    def __init__(self) -> None:
        # The generated base answers UNIMPLEMENTED for every method: nothing built yet.
        self._servicer = sharing_service_pb2_grpc.SharingServiceServicer()  # type: ignore[abstract]

    def register(self, server: grpc.aio.Server) -> None:
        sharing_service_pb2_grpc.add_SharingServiceServicer_to_server(self._servicer, server)

    async def aclose(self) -> None:
        return None


async def build(env: Env, pool: asyncpg.Pool, registry: CollectorRegistry) -> SharingParts:
    return SharingParts()


DEFINITION = ServiceDefinition(
    name="sharing",
    env_prefix="TRACKCC_SHARING",
    service_names=(sharing_service_pb2.DESCRIPTOR.services_by_name["SharingService"].full_name,),
    default_port=50053,
    default_metrics_port=9467,
    migrations=Path(__file__).parent / "migrations",
    build=build,
)
