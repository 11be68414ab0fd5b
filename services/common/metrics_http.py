"""Serves a Prometheus registry on its own port, never on the public one."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


async def start_metrics_server(
    registry: CollectorRegistry, host: str, port: int
) -> tuple[web.AppRunner, int]:
    """Starts ``GET /metrics``; returns the runner (to clean up) and the bound port."""

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
    # Not an isinstance check on asyncio.Server: under uvloop (every service) it is uvloop's.
    sockets = getattr(server, "sockets", None)
    assert sockets
    bound_port: int = sockets[0].getsockname()[1]
    return runner, bound_port
