"""The socket layer the services ask gRPC for (services/common/grpc_transport.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from services.common.grpc_transport import IOMGR_ENDPOINTS, choose_grpc_endpoints


def test_the_iomgr_endpoints_unless_the_operator_chose() -> None:
    unset: dict[str, str] = {}
    assert choose_grpc_endpoints(unset, imported=()) == IOMGR_ENDPOINTS
    assert unset == {"GRPC_EXPERIMENTS": IOMGR_ENDPOINTS}

    # An empty value is a choice too: gRPC's own defaults.
    for chosen in ("", "-event_engine_client"):
        environ = {"GRPC_EXPERIMENTS": chosen}
        assert choose_grpc_endpoints(environ, imported=()) == chosen
        assert environ == {"GRPC_EXPERIMENTS": chosen}


def test_refused_once_grpc_is_imported() -> None:
    environ: dict[str, str] = {}
    with pytest.raises(RuntimeError, match="before grpc is imported"):
        choose_grpc_endpoints(environ, imported={"grpc"})
    assert environ == {}


@pytest.mark.parametrize("service", ["auth", "roster", "sharing", "gateway"])
def test_each_service_chooses_before_importing_grpc(service: str) -> None:
    """Its __main__ runs the choice first: started with a bad configuration, it has set the
    variable and not refused (which it would, had anything imported gRPC before)."""
    probe = (
        "import os, runpy, sys\n"
        "try:\n"
        f"    runpy.run_module('services.{service}', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(os.environ.get('GRPC_EXPERIMENTS'))\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKCC_", "GRPC_"))}
    # No configuration at all: each service stops at its settings, before serving anything.
    finished = subprocess.run(
        [sys.executable, "-c", probe], env=environ, capture_output=True, text=True, timeout=60
    )
    assert "must run before grpc is imported" not in finished.stderr, finished.stderr
    assert finished.stdout.strip().splitlines()[-1] == IOMGR_ENDPOINTS, finished
