"""Serving the app over HTTPS, and metrics on their own port."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from aiohttp import web

from services.common.metrics_http import start_metrics_server
from services.gateway.appkeys import REGISTRY
from services.gateway.config import GatewaySettings
from services.gateway.http_errors import HANDLER_ARGS, ProblemAppRunner
from services.gateway.tls_groups import restrict_groups


def https_context(settings: GatewaySettings) -> ssl.SSLContext:
    """TLS 1.2 (forward-secret AEAD suites only) and 1.3; nothing older; X25519, P-256 and
    P-384 key exchange (Mozilla's "intermediate" profile)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
    restrict_groups(context)
    context.load_cert_chain(settings.https_cert, settings.https_key)
    return context


@dataclass
class RunningGateway:
    """A started gateway and what it needs to stop cleanly."""

    port: int
    metrics_port: int
    _runner: web.AppRunner
    _metrics_runner: web.AppRunner

    async def stop(self) -> None:
        """Stops accepting, lets in-flight requests finish, closes the channels."""
        await self._runner.cleanup()
        await self._metrics_runner.cleanup()


async def start_gateway(app: web.Application, settings: GatewaySettings) -> RunningGateway:
    """Serves ``app`` on the HTTPS port only: plain HTTP fails the TLS handshake there."""
    runner = ProblemAppRunner(
        app,
        access_log=None,
        handle_signals=False,
        # In-flight requests get this long to finish on SIGTERM (aiohttp takes 0 as "forever").
        shutdown_timeout=settings.shutdown_grace_seconds,
        **HANDLER_ARGS,
    )
    await runner.setup()
    try:
        host, port = settings.listen
        site = web.TCPSite(runner, host, port, ssl_context=https_context(settings))
        await site.start()
        bound_port: int = runner.addresses[0][1]
        metrics_runner, metrics_port = await start_metrics_server(
            app[REGISTRY], *settings.metrics_listen
        )
    except BaseException:
        await runner.cleanup()
        raise
    return RunningGateway(bound_port, metrics_port, runner, metrics_runner)
