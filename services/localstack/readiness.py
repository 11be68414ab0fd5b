"""Probes that say when a component is ready, and a bounded wait for all of them."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.tls import GrpcTarget, TlsFiles, secure_channel

_PROBE_TIMEOUT_SECONDS = 2.0


class Probe(Protocol):
    """True when the component answers as ready."""

    async def __call__(self) -> bool: ...

    async def close(self) -> None: ...


class GrpcHealthProbe:
    """grpc.health.v1 Check of the service's full name: SERVING once its database answers."""

    def __init__(self, target: GrpcTarget, tls: TlsFiles, service_name: str) -> None:
        self._channel = secure_channel(target, tls)
        self._stub = health_pb2_grpc.HealthStub(self._channel)
        self._service_name = service_name
        self._closed = False

    async def __call__(self) -> bool:
        try:
            response = await self._stub.Check(
                health_pb2.HealthCheckRequest(service=self._service_name),
                timeout=_PROBE_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError:
            return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._channel.close()


class HttpsReadyProbe:
    """``GET url`` answers 200, trusting only the given CA (as a client of the stack would)."""

    def __init__(self, url: str, ca: Path) -> None:
        self._url = url
        self._ssl = ssl.create_default_context(cafile=str(ca))
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=_PROBE_TIMEOUT_SECONDS)
            )
        try:
            async with self._session.get(self._url, ssl=self._ssl) as response:
                return response.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def wait_until_ready(
    probes: Mapping[str, Probe], timeout_seconds: float, interval_seconds: float = 0.25
) -> list[str]:
    """Polls until every probe is true or the time is up; returns the names not ready."""
    deadline = time.monotonic() + timeout_seconds
    waiting = dict(probes)
    while waiting:
        results = await asyncio.gather(*(probe() for probe in waiting.values()))
        waiting = {
            name: probe
            for (name, probe), ok in zip(waiting.items(), results, strict=True)
            if not ok
        }
        if not waiting or time.monotonic() >= deadline:
            break
        await asyncio.sleep(interval_seconds)
    return sorted(waiting)
