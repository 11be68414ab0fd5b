"""Runs the gateway in the test process over real HTTPS, with a TLS client trusting the dev CA."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from services.common.config import Env
from services.common.devcerts import DevPki
from services.gateway.app import create_app
from services.gateway.clients import ClientsFactory, open_clients
from services.gateway.config import GatewaySettings
from services.gateway.server import start_gateway
from tests.support.services import with_server_names


def gateway_env(
    pki: DevPki,
    jwks_file: Path,
    targets: Mapping[str, str],
    extra: Mapping[str, str] | None = None,
) -> Env:
    """Free ports, the dev certificates, and the given ``auth``/``roster``/``sharing`` targets."""
    leaf = pki.leaf("gateway")
    values = {
        "TRACKCC_GATEWAY_LISTEN": "127.0.0.1:0",
        "TRACKCC_GATEWAY_METRICS_LISTEN": "127.0.0.1:0",
        "TRACKCC_GATEWAY_HTTPS_CERT": str(leaf.cert),
        "TRACKCC_GATEWAY_HTTPS_KEY": str(leaf.key),
        "TRACKCC_GATEWAY_TLS_CERT": str(leaf.cert),
        "TRACKCC_GATEWAY_TLS_KEY": str(leaf.key),
        "TRACKCC_GATEWAY_TLS_CA": str(leaf.ca),
        "TRACKCC_GATEWAY_AUTH_TARGET": targets["auth"],
        "TRACKCC_GATEWAY_ROSTER_TARGET": targets["roster"],
        "TRACKCC_GATEWAY_SHARING_TARGET": targets["sharing"],
        "TRACKCC_JWT_JWKS_FILE": str(jwks_file),
        # High by default so that tests do not trip over each other; one test lowers it.
        "TRACKCC_RATE_LIMIT_PER_MINUTE": "10000",
        "TRACKCC_LOG_LEVEL": "WARNING",
    }
    values.update(extra or {})
    return Env(with_server_names(values))


@dataclass(frozen=True)
class RunningGateway:
    """A gateway on a free port and an HTTPS client for it."""

    port: int
    metrics_port: int
    app: web.Application
    http: aiohttp.ClientSession
    ca: Path

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"


def client_ssl_context(ca: Path) -> ssl.SSLContext:
    """Trusts only the dev CA and checks the host name, as a real client would."""
    return ssl.create_default_context(cafile=str(ca))


@contextlib.asynccontextmanager
async def running_gateway(
    env: Env,
    pki: DevPki,
    *,
    clock: Callable[[], float] = time.monotonic,
    clients: ClientsFactory = open_clients,
) -> AsyncIterator[RunningGateway]:
    """Serves the gateway until the block exits; ``clock`` drives its caches and limits."""
    settings = GatewaySettings.from_env(env)
    app = create_app(settings, clients, clock=clock)
    running = await start_gateway(app, settings)
    try:
        connector = aiohttp.TCPConnector(ssl=client_ssl_context(pki.ca))
        async with aiohttp.ClientSession(
            base_url=f"https://localhost:{running.port}", connector=connector
        ) as http:
            yield RunningGateway(running.port, running.metrics_port, app, http, pki.ca)
    finally:
        await running.stop()


async def wait_ready(gateway: RunningGateway, within_seconds: float = 15.0) -> None:
    """Polls /readyz until the services report SERVING (their readiness loop starts NOT_SERVING)."""
    async with asyncio.timeout(within_seconds):
        while True:
            async with gateway.http.get("/readyz") as response:
                if response.status == 200:
                    return
            await asyncio.sleep(0.1)
