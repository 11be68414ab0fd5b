"""Wiring of the roster service: its definition and the parts built from settings."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import grpc
from prometheus_client import CollectorRegistry

from services.common.config import Env
from services.common.service_main import ServiceDefinition
from trackcc.roster.v1 import roster_service_pb2, roster_service_pb2_grpc


class RosterParts:
    """The roster servicer. Every method answers UNIMPLEMENTED until the roster issue lands."""

    def __init__(self) -> None:
        # The generated base answers UNIMPLEMENTED for every method: nothing built yet.
        self._servicer = roster_service_pb2_grpc.RosterServiceServicer()  # type: ignore[abstract]

    def register(self, server: grpc.aio.Server) -> None:
        roster_service_pb2_grpc.add_RosterServiceServicer_to_server(self._servicer, server)

    async def aclose(self) -> None:
        return None


async def build(env: Env, pool: asyncpg.Pool, registry: CollectorRegistry) -> RosterParts:
    return RosterParts()


DEFINITION = ServiceDefinition(
    name="roster",
    env_prefix="TRACKCC_ROSTER",
    service_names=(roster_service_pb2.DESCRIPTOR.services_by_name["RosterService"].full_name,),
    default_port=50052,
    default_metrics_port=9466,
    migrations=Path(__file__).parent / "migrations",
    build=build,
)
