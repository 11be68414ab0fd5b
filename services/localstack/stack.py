"""Starts the whole stack in order, waits until it is ready, and stops it cleanly.

Order: check the ports (before touching anything), set up the data directory, start or join
PostgreSQL and provision it, start the SMTP sink, start the services (each migrates its own
schema) and the gateway, wait for readiness, print the URL. On Ctrl-C or SIGTERM, or when any
child dies unasked, everything is stopped in reverse order, PostgreSQL last. One component
can be stopped and started on purpose meanwhile (``control.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from services.common.tls import GrpcTarget
from services.localstack.components import (
    HEALTH_NAME,
    SERVICES,
    Ports,
    Wiring,
    gateway_spec,
    service_spec,
)
from services.localstack.control import Switchable, control_socket
from services.localstack.database import open_database, provision_database
from services.localstack.errors import StackError
from services.localstack.layout import DataLayout, prepare
from services.localstack.ports import LOOPBACK, free_ports, port_is_free
from services.localstack.ports_file import remove_ports_file, write_ports_file
from services.localstack.postgres import PostgresSwitch
from services.localstack.readiness import (
    GrpcHealthProbe,
    HttpsReadyProbe,
    Probe,
    wait_until_ready,
)
from services.localstack.settings import StackSettings
from services.localstack.smtp_sink import start_smtp_sink
from services.localstack.supervisor import Supervisor

logger = logging.getLogger("services.localstack")

# The first start runs initdb and every migration; later starts take a few seconds.
READY_TIMEOUT_SECONDS = 120.0

ALL_COMPONENTS = (*SERVICES, "gateway")


def preflight(settings: StackSettings, components: Sequence[str]) -> None:
    """Everything that can be known to fail before anything is started or written."""
    if not port_is_free(settings.https_port):
        raise StackError(f"port {settings.https_port} is in use; set TRACKCC_HTTPS_PORT")
    if "gateway" in components and not port_is_free(settings.metrics_port):
        raise StackError(f"port {settings.metrics_port} is in use; set TRACKCC_METRICS_PORT")
    if importlib.util.find_spec("trackcc") is None:
        raise StackError("the generated gRPC code is missing; run `make protos` (or `make run`)")
    for component in components:
        if importlib.util.find_spec(f"services.{component}.__main__") is None:
            raise StackError(f"services.{component} cannot be started: it has no __main__ module")


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGHUP too: closing the terminal must not orphan the children.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _first(*futures: asyncio.Future[Any]) -> None:
    await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)


async def run_stack(
    settings: StackSettings,
    *,
    components: Sequence[str] = ALL_COMPONENTS,
    out: TextIO = sys.stdout,
    echo: TextIO | None = sys.stderr,
) -> int:
    """Runs until a signal (returns 0); raises StackError when something fails."""
    preflight(settings, components)
    stop = _stop_event()
    layout = DataLayout(settings.data_dir)
    async with contextlib.AsyncExitStack() as cleanup:
        pki, role_password = await asyncio.to_thread(prepare, layout)
        database = await asyncio.to_thread(
            open_database, layout, settings.database_url, role_password, create=True
        )
        cleanup.push_async_callback(asyncio.to_thread, database.stop)
        if stop.is_set():
            return 0
        await provision_database(database.admin_url, role_password)

        sink = await start_smtp_sink(layout.mail, LOOPBACK, 0)
        cleanup.push_async_callback(sink.stop)

        services = [name for name in components if name in SERVICES]
        numbers = free_ports(2 * len(services))
        service_ports = {
            name: Ports(grpc=numbers[2 * i], metrics=numbers[2 * i + 1])
            for i, name in enumerate(services)
        }
        wiring = Wiring(settings, layout, pki, database, service_ports, sink.port)
        logger.info(
            "SMTP sink on %s:%d, mail in %s", LOOPBACK, sink.port, layout.display(layout.mail)
        )
        for name, ports in service_ports.items():
            logger.info(
                "%s: gRPC %s, metrics %s:%d", name, wiring.target(name), LOOPBACK, ports.metrics
            )
        if "gateway" in components:
            logger.info("gateway metrics %s:%d", LOOPBACK, settings.metrics_port)
        logger.info("logs in %s", layout.display(layout.log))
        write_ports_file(
            layout,
            https_port=settings.https_port,
            gateway_metrics_port=settings.metrics_port if "gateway" in components else None,
            services={name: (p.grpc, p.metrics) for name, p in service_ports.items()},
            smtp_port=sink.port,
        )
        # Pushed before the children: removed after they have stopped, ports closed.
        cleanup.callback(remove_ports_file, layout)

        supervisor = Supervisor(layout.log, echo=echo)
        cleanup.push_async_callback(supervisor.stop)
        specs = [service_spec(name, wiring) for name in services]
        if "gateway" in components:
            specs.append(gateway_spec(wiring))
        for spec in specs:
            await supervisor.start(spec)
        # Closed before the supervisor stops the children (the exit stack unwinds in reverse).
        servers: dict[str, Switchable] = {"smtp": sink}
        if database.embedded is not None:  # a server of DATABASE_URL is not ours to restart
            servers["postgres"] = PostgresSwitch(database.embedded)
        await cleanup.enter_async_context(
            control_socket(
                layout.run / "control.sock", supervisor, [s.name for s in specs], servers
            )
        )

        probes: dict[str, Probe] = {
            name: GrpcHealthProbe(
                GrpcTarget(wiring.target(name), name), pki.leaf("gateway"), HEALTH_NAME[name]
            )
            for name in services
        }
        if "gateway" in components:
            probes["gateway"] = HttpsReadyProbe(f"{settings.public_url}/readyz", layout.ca)
        for probe in probes.values():
            cleanup.push_async_callback(probe.close)

        stopped = asyncio.ensure_future(stop.wait())
        died = asyncio.ensure_future(supervisor.first_exit())
        ready = asyncio.ensure_future(wait_until_ready(probes, READY_TIMEOUT_SECONDS))
        for future in (stopped, died, ready):
            cleanup.callback(future.cancel)
        await _first(stopped, died, ready)
        if stopped.done():
            return 0
        if died.done():
            raise StackError(
                _death_message(died.result().name, died.result().describe_exit(), layout)
            )
        not_ready = ready.result()
        # The probes are done; an idle gRPC channel would only keep threads around.
        for probe in probes.values():
            await probe.close()
        if not_ready:
            raise StackError(
                f"{', '.join(not_ready)} not ready within {READY_TIMEOUT_SECONDS:g} s; "
                f"see the logs in {layout.display(layout.log)}"
            )
        if "gateway" in components:
            out.write(f"TrackCC is up: {settings.public_url} (CA: {layout.display(layout.ca)})\n")
        else:
            out.write(f"TrackCC services are up: {', '.join(services)}\n")
        out.flush()

        await _first(stopped, died)
        if stopped.done():
            logger.info("stopping")
            return 0
        child = died.result()
        raise StackError(_death_message(child.name, child.describe_exit(), layout))
    # Only reached if a cleanup step swallowed an exception; there is nothing left running.
    return 0


def _death_message(name: str, how: str, layout: DataLayout) -> str:
    log = layout.display(layout.log / f"{name}.log")
    return f"{name} {how}; stopped everything (its log: {log})"
