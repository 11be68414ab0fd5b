"""``<data dir>/run/ports.json``: where a running stack listens, for tools and tests.

The internal ports are picked at random on every start; the log says them to a person, this
file says them to a program (a scraper, the end-to-end tests). It exists only while the
stack runs, and names the stack's process so that one left by a crash can be recognised.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from services.localstack.layout import DataLayout
from services.localstack.ports import LOOPBACK


def write_ports_file(
    layout: DataLayout,
    *,
    https_port: int,
    gateway_metrics_port: int | None,
    services: Mapping[str, tuple[int, int]],
    smtp_port: int,
) -> None:
    """Writes the file atomically; ``services`` maps a name to its (gRPC, metrics) ports."""
    document = {
        "pid": os.getpid(),
        "host": LOOPBACK,
        "https": https_port,
        "smtp": smtp_port,
        "metrics": {
            **({"gateway": gateway_metrics_port} if gateway_metrics_port is not None else {}),
            **{name: ports[1] for name, ports in services.items()},
        },
        "grpc": {name: ports[0] for name, ports in services.items()},
    }
    layout.run.mkdir(exist_ok=True)
    temporary = layout.ports_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.replace(layout.ports_file)


def remove_ports_file(layout: DataLayout) -> None:
    """Removes the file at shutdown; the ports it names are closed by then."""
    layout.ports_file.unlink(missing_ok=True)
