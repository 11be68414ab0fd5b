"""The exec health probe that Kubernetes runs inside each gRPC pod (mTLS on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from services.common.config import Env
from services.common.devcerts import DevPki
from services.common.healthprobe import (
    CONFIG_ERROR,
    NOT_SERVING,
    OK,
    certificate_dns_name,
    check,
    run,
)
from tests.support.ports import free_port

READY_NAME = "trackcc.test.v1.TestService"


@pytest.fixture
async def health_port(pki: DevPki) -> AsyncIterator[int]:
    """A server like a TrackCC service: health on an mTLS port only, process up, not ready."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    port = server.add_secure_port("127.0.0.1:0", pki.leaf("auth").server_credentials())
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    await health.set(READY_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


def _env(pki: DevPki, port: int) -> Env:
    # In a pod the probe presents the service's own certificate and checks its own name.
    leaf = pki.leaf("auth")
    return Env(
        {
            "TRACKCC_TEST_LISTEN": f"0.0.0.0:{port}",
            "TRACKCC_TEST_TLS_CERT": str(leaf.cert),
            "TRACKCC_TEST_TLS_KEY": str(leaf.key),
            "TRACKCC_TEST_TLS_CA": str(leaf.ca),
        }
    )


def test_dns_name_is_the_first_subject_alternative_name(pki: DevPki) -> None:
    assert certificate_dns_name(pki.leaf("auth").cert.read_bytes()) == "auth"


async def test_reports_process_and_readiness_status(pki: DevPki, health_port: int) -> None:
    tls = pki.leaf("auth")
    assert await check(health_port, tls, "") == "SERVING"
    assert await check(health_port, tls, READY_NAME) == "NOT_SERVING"


async def test_a_server_name_other_than_the_certificates_is_refused(
    pki: DevPki, health_port: int
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await check(health_port, pki.leaf("gateway"), "", server_name="localhost")
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_exit_status_follows_the_answer(pki: DevPki, health_port: int) -> None:
    env = _env(pki, health_port)
    # run() owns an event loop of its own, as it does in a fresh probe process.
    assert await asyncio.to_thread(run, ["--prefix", "TRACKCC_TEST"], env) == OK
    not_ready = ["--prefix", "TRACKCC_TEST", "--service", READY_NAME]
    assert await asyncio.to_thread(run, not_ready, env) == NOT_SERVING
    unknown = ["--prefix", "TRACKCC_TEST", "--service", "no.such.Service"]
    assert await asyncio.to_thread(run, unknown, env) == NOT_SERVING


async def test_a_closed_port_is_not_serving(pki: DevPki) -> None:
    env = _env(pki, free_port())
    argv = ["--prefix", "TRACKCC_TEST", "--timeout", "1"]
    assert await asyncio.to_thread(run, argv, env) == NOT_SERVING


def test_missing_settings_are_a_configuration_error(pki: DevPki) -> None:
    assert run(["--prefix", "TRACKCC_NOPE"], Env({})) == CONFIG_ERROR
