"""The one ``main`` of every gRPC service: ``python -m services.<name> [serve|migrate]``.

``serve`` (the default) runs pending migrations first when the owner DSN is configured
(the local stack), opens the pool, starts the server and waits for SIGTERM. ``migrate`` only
migrates and exits (the Helm migration Job).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import asyncpg
import grpc
from prometheus_client import CollectorRegistry

from services.common.config import Env
from services.common.db import DatabaseSettings, create_pool, database_answers
from services.common.grpc_server import GrpcServerSettings, start_grpc_server
from services.common.logs import configure_logging
from services.common.migrations import migrate_dsn
from services.common.process import run_process, wait_for_termination

logger = logging.getLogger(__name__)


class ServiceParts(Protocol):
    """What a service builds from its settings and pool."""

    def register(self, server: grpc.aio.Server) -> None:
        """Adds the servicers."""

    async def aclose(self) -> None:
        """Stops background work (workers, channels)."""


@dataclass(frozen=True)
class ServiceDefinition:
    """The constants and the wiring of one service."""

    name: str
    env_prefix: str
    service_names: Sequence[str]
    default_port: int
    default_metrics_port: int
    migrations: Path
    build: Callable[[Env, asyncpg.Pool, CollectorRegistry], Awaitable[ServiceParts]]


@dataclass(frozen=True)
class CommonSettings:
    """Settings every service reads, whatever its domain."""

    server: GrpcServerSettings
    database: DatabaseSettings
    log_level: str

    @classmethod
    def from_env(cls, env: Env, definition: ServiceDefinition) -> CommonSettings:
        return cls(
            server=GrpcServerSettings.from_env(
                env,
                definition.env_prefix,
                definition.default_port,
                definition.default_metrics_port,
            ),
            database=DatabaseSettings.from_env(env, definition.env_prefix),
            log_level=env.choice(
                "TRACKCC_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"
            ),
        )


@contextlib.asynccontextmanager
async def running_service(
    definition: ServiceDefinition, env: Env
) -> AsyncIterator[tuple[int, int]]:
    """Migrates if configured, then serves until the block exits; yields (port, metrics port)."""
    settings = CommonSettings.from_env(env, definition)
    if settings.database.migrate_dsn:
        await migrate_dsn(settings.database.migrate_dsn, definition.name, definition.migrations)
    pool = await create_pool(
        settings.database.dsn,
        schema=definition.name,
        application_name=definition.name,
        min_size=settings.database.pool_min_size,
        max_size=settings.database.pool_max_size,
    )
    try:
        registry = CollectorRegistry()
        parts = await definition.build(env, pool, registry)
        try:
            running = await start_grpc_server(
                settings.server,
                service_names=definition.service_names,
                register=parts.register,
                readiness=lambda: database_answers(pool),
                registry=registry,
            )
            try:
                yield running.port, running.metrics_port
            finally:
                await running.stop()
        finally:
            await parts.aclose()
    finally:
        await _close_pool(pool)


# A graceful pool close waits for every borrowed connection; one stuck in a cancelled
# background task must not keep the process from stopping.
POOL_CLOSE_SECONDS = 5.0


async def _close_pool(pool: asyncpg.Pool) -> None:
    try:
        async with asyncio.timeout(POOL_CLOSE_SECONDS):
            await pool.close()
    except TimeoutError:
        logger.warning("database pool did not close in time; terminating its connections")
        pool.terminate()


async def _serve(definition: ServiceDefinition) -> None:
    env = Env.from_os()
    configure_logging(definition.name, env.str("TRACKCC_LOG_LEVEL", "INFO"))
    async with running_service(definition, env):
        await wait_for_termination()
        logger.info("stopping")


async def _migrate(definition: ServiceDefinition) -> None:
    env = Env.from_os()
    configure_logging(definition.name, env.str("TRACKCC_LOG_LEVEL", "INFO"))
    dsn = env.url(f"{definition.env_prefix}_MIGRATE_DATABASE_URL", ("postgresql", "postgres"))
    applied = await migrate_dsn(dsn, definition.name, definition.migrations)
    logger.info("migrations done", extra={"applied": applied})


def main(definition: ServiceDefinition, argv: Sequence[str] | None = None) -> None:
    """Parses the command and runs it."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{definition.name}")
    parser.add_argument("command", nargs="?", default="serve", choices=("serve", "migrate"))
    args = parser.parse_args(argv)
    if args.command == "migrate":
        run_process(definition.name, lambda: _migrate(definition))
    else:
        run_process(definition.name, lambda: _serve(definition))
