"""Bootstrap of a ``grpc.aio`` server as every TrackCC service runs it.

mTLS, health (``grpc.health.v1``: the empty name reports the process, the service's full
name reports readiness, i.e. whether its database answers), reflection, the interceptor
(errors, request id, metrics), a metrics port of its own, and graceful shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry

from services.common.config import Env
from services.common.interceptors import CallInterceptor, ServerMetrics
from services.common.metrics_http import start_metrics_server
from services.common.tls import TlsFiles

logger = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[bool]]

MAX_MESSAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class GrpcServerSettings:
    """Where and how a service listens."""

    listen: tuple[str, int]
    metrics_listen: tuple[str, int]
    tls: TlsFiles
    grace_seconds: float
    readiness_interval_seconds: float
    # Plaintext port serving grpc.health.v1 alone, for Kubernetes' native gRPC probes (the
    # kubelet cannot present a client certificate); None keeps health on the mTLS port only.
    health_listen: tuple[str, int] | None = None

    @classmethod
    def from_env(
        cls, env: Env, prefix: str, default_port: int, default_metrics_port: int
    ) -> GrpcServerSettings:
        """Reads ``<prefix>_LISTEN``, ``<prefix>_METRICS_LISTEN``, the TLS files and timings."""
        return cls(
            listen=env.address(f"{prefix}_LISTEN", f"127.0.0.1:{default_port}"),
            metrics_listen=env.address(
                f"{prefix}_METRICS_LISTEN", f"127.0.0.1:{default_metrics_port}"
            ),
            tls=TlsFiles.from_env(env, prefix),
            grace_seconds=env.float(f"{prefix}_SHUTDOWN_GRACE_SECONDS", 10.0),
            readiness_interval_seconds=env.float(
                f"{prefix}_READINESS_INTERVAL_SECONDS", 5.0, minimum=0.1
            ),
            health_listen=(
                env.address(f"{prefix}_HEALTH_LISTEN")
                if env.optional_str(f"{prefix}_HEALTH_LISTEN")
                else None
            ),
        )


@dataclass
class RunningServer:
    """A started server and what it needs to stop cleanly."""

    server: grpc.aio.Server
    port: int
    metrics_port: int
    health: HealthServicer
    health_port: int | None
    _health_server: grpc.aio.Server | None
    _metrics_runner: web.AppRunner
    _readiness_task: asyncio.Task[None]
    grace_seconds: float
    _calls: CallInterceptor

    async def stop(self) -> None:
        """Reports NOT_SERVING, stops accepting, lets in-flight calls finish within the grace.

        Logs how many calls were in flight and how many the grace cut off: the figures an
        operator (and the fault tests) need to tell a clean drain from a lost request.
        """
        in_flight, cancelled_before = self._calls.in_flight, self._calls.cancelled
        logger.info("draining", extra={"in_flight": in_flight, "grace_seconds": self.grace_seconds})
        await self.health.enter_graceful_shutdown()
        self._readiness_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._readiness_task
        await self.server.stop(self.grace_seconds)
        # Cut off: cancelled when the grace ran out, or still running now that the server
        # is gone, so that their answers can no longer be sent.
        cut_off = self._calls.in_flight + self._calls.cancelled - cancelled_before
        logger.info("drained", extra={"in_flight": in_flight, "cut_off": cut_off})
        if self._health_server is not None:
            await self._health_server.stop(0)
        await self._metrics_runner.cleanup()


async def _watch_readiness(
    health: HealthServicer, service_names: Sequence[str], readiness: Readiness, interval: float
) -> None:
    serving = health_pb2.HealthCheckResponse.SERVING
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    last: bool | None = None
    while True:
        try:
            ready = await readiness()
        except Exception:  # noqa: BLE001 - a failing probe means not ready, never a crash
            logger.exception("readiness probe failed")
            ready = False
        if ready != last:
            for name in service_names:
                await health.set(name, serving if ready else not_serving)
            logger.info("readiness changed", extra={"ready": ready})
            last = ready
        await asyncio.sleep(interval)


async def start_grpc_server(
    settings: GrpcServerSettings,
    *,
    service_names: Sequence[str],
    register: Callable[[grpc.aio.Server], None],
    readiness: Readiness,
    registry: CollectorRegistry,
) -> RunningServer:
    """Starts the server with every shared piece; ``register`` adds the service's servicers."""
    calls = CallInterceptor(ServerMetrics(registry))
    server = grpc.aio.server(
        interceptors=[calls],  # the only one: it caches wrapped handlers (interceptors.py)
        options=[
            # A stale server on the same port would otherwise silently take calls.
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ],
    )
    register(server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        [
            *service_names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    host, port = settings.listen
    bound = server.add_secure_port(f"{host}:{port}", settings.tls.server_credentials())
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    metrics_runner, metrics_port = await start_metrics_server(registry, *settings.metrics_listen)
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    for name in service_names:
        await health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    health_server, health_port = await _start_health_only_server(settings, health)
    task = asyncio.create_task(
        _watch_readiness(health, service_names, readiness, settings.readiness_interval_seconds)
    )
    logger.info(
        "serving",
        extra={
            "port": bound,
            "metrics_port": metrics_port,
            # Which socket layer gRPC runs on (services/common/grpc_transport.py).
            "grpc_experiments": os.environ.get("GRPC_EXPERIMENTS", ""),
        },
    )
    return RunningServer(
        server=server,
        port=bound,
        metrics_port=metrics_port,
        health=health,
        health_port=health_port,
        _health_server=health_server,
        _metrics_runner=metrics_runner,
        _readiness_task=task,
        grace_seconds=settings.grace_seconds,
        _calls=calls,
    )


async def _start_health_only_server(
    settings: GrpcServerSettings, health: HealthServicer
) -> tuple[grpc.aio.Server | None, int | None]:
    """The plaintext health port, sharing the main server's health state, if configured."""
    if settings.health_listen is None:
        return None, None
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    host, port = settings.health_listen
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    await server.start()
    return server, bound
