"""``python -m services.gateway``: reads settings, wires the app, serves until SIGTERM."""

from __future__ import annotations

import logging
import os

from services.common.grpc_transport import choose_grpc_endpoints

choose_grpc_endpoints(os.environ)  # before gRPC is imported

from services.common.config import Env  # noqa: E402
from services.common.logs import configure_logging  # noqa: E402
from services.common.process import run_process, wait_for_termination  # noqa: E402
from services.gateway.app import create_app  # noqa: E402
from services.gateway.config import GatewaySettings  # noqa: E402
from services.gateway.server import start_gateway  # noqa: E402

logger = logging.getLogger("services.gateway")


async def _serve() -> None:
    settings = GatewaySettings.from_env(Env.from_os())
    configure_logging("gateway", settings.log_level)
    running = await start_gateway(create_app(settings), settings)
    logger.info(
        "serving",
        extra={
            "port": running.port,
            "metrics_port": running.metrics_port,
            "grpc_experiments": os.environ.get("GRPC_EXPERIMENTS", ""),
        },
    )
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
