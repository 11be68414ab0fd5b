"""``python -m services.gateway``: reads settings, wires the app, serves until SIGTERM."""

from __future__ import annotations

import logging

from services.common.config import Env
from services.common.logs import configure_logging
from services.common.process import run_process, wait_for_termination
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.server import start_gateway

logger = logging.getLogger("services.gateway")


async def _serve() -> None:
    settings = GatewaySettings.from_env(Env.from_os())
    configure_logging("gateway", settings.log_level)
    running = await start_gateway(create_app(settings), settings)
    logger.info("serving", extra={"port": running.port, "metrics_port": running.metrics_port})
    try:
        await wait_for_termination()
        logger.info("stopping")
    finally:
        await running.stop()


def main() -> None:
    """Runs the gateway on uvloop."""
    run_process("gateway", _serve)


if __name__ == "__main__":
    main()
