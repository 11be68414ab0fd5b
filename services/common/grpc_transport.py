"""Which of gRPC's socket layers the services use: the iomgr endpoints, not EventEngine's.

grpcio 1.85 moves a call's socket reads and writes onto EventEngine's own threads, which
hand each completion to the grpc.aio poller thread, which wakes the event loop. With the
EventEngine client and listener experiments turned off, the poller thread does the socket
work itself: one thread switch less each way. Measured on the owner's class list through the
whole stack, minutes apart on one 2-core machine (bench/README.md, issue 15): 1.35 -> 1.18 ms
of CPU per request, 1,383 -> 1,558 req/s; the gateway and roster each about 0.09 ms cheaper.
Sign-ins and ``/v1/me`` cost the same either way.

Both layers are grpc's own, in the pinned grpcio; an operator who sets ``GRPC_EXPERIMENTS``
(to ``""`` for grpc's defaults) keeps that value. gRPC reads the variable once, when it is
first imported, so this runs before that, at the top of every service's ``__main__``.
"""

from __future__ import annotations

import sys
from collections.abc import Container, MutableMapping

IOMGR_ENDPOINTS = "-event_engine_client,-event_engine_listener"


def choose_grpc_endpoints(
    environ: MutableMapping[str, str], imported: Container[str] = sys.modules
) -> str:
    """Sets ``GRPC_EXPERIMENTS`` to the iomgr endpoints unless it is set already; returns the
    value in effect. Refuses once gRPC is imported: the setting would silently do nothing."""
    if "grpc" in imported:
        raise RuntimeError("choose_grpc_endpoints must run before grpc is imported")
    return environ.setdefault("GRPC_EXPERIMENTS", IOMGR_ENDPOINTS)
