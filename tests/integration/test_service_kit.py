"""The service kit as a real service runs it: health, reflection, metrics, errors, mTLS."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aiohttp
import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry

from services.common.config import Env
from services.common.devcerts import DevPki, ensure_dev_pki
from services.common.tls import secure_channel
from services.roster.service import DEFINITION as ROSTER
from tests.support.ports import free_port
from tests.support.postgres import TestDatabase
from tests.support.services import client_channel, make_jwt_keys, service_env, started_service
from trackcc.roster.v1 import roster_service_pb2, roster_service_pb2_grpc

ROSTER_SERVICE = "trackcc.roster.v1.RosterService"


async def _wait_serving(stub: health_pb2_grpc.HealthStub, name: str) -> None:
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=name))
    async for response in watch:
        if response.status == health_pb2.HealthCheckResponse.SERVING:
            watch.cancel()
            return


async def test_health_reports_process_and_readiness(
    database: TestDatabase, pki: DevPki, tmp_path: Path
) -> None:
    env = service_env(ROSTER, database, pki, make_jwt_keys(tmp_path))
    async with started_service(ROSTER, env) as service, client_channel(service, pki) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        process = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert process.status == health_pb2.HealthCheckResponse.SERVING
        await _wait_serving(health, ROSTER_SERVICE)
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


class _Unbuilt:
    """Registers the generated base servicer: every method is still to be written."""

    def register(self, server: grpc.aio.Server) -> None:
        base = roster_service_pb2_grpc.RosterServiceServicer()  # type: ignore[abstract]
        roster_service_pb2_grpc.add_RosterServiceServicer_to_server(base, server)

    async def aclose(self) -> None:
        return None


async def _build_unbuilt(env: Env, pool: asyncpg.Pool, registry: CollectorRegistry) -> _Unbuilt:
    return _Unbuilt()


async def test_unbuilt_method_is_unimplemented_and_counted(
    database: TestDatabase, pki: DevPki, tmp_path: Path
) -> None:
    unbuilt = dataclasses.replace(ROSTER, build=_build_unbuilt)
    env = service_env(ROSTER, database, pki, make_jwt_keys(tmp_path))
    async with started_service(unbuilt, env) as service, client_channel(service, pki) as channel:
        stub = roster_service_pb2_grpc.RosterServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.GetClass(roster_service_pb2.GetClassRequest(class_id="x"))
        assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{service.metrics_port}/metrics") as response,
        ):
            text = await response.text()
        assert (
            'grpc_server_handled_total{grpc_code="UNIMPLEMENTED",grpc_method="GetClass",'
            f'grpc_service="{ROSTER_SERVICE}",grpc_type="unary"}} 1.0'
        ) in text
        assert "grpc_server_handling_seconds_bucket" in text


async def test_client_without_a_certificate_from_our_ca_is_refused(
    database: TestDatabase, pki: DevPki, tmp_path: Path
) -> None:
    env = service_env(ROSTER, database, pki, make_jwt_keys(tmp_path))
    stranger = ensure_dev_pki(tmp_path / "other-ca", ("gateway",))
    async with started_service(ROSTER, env) as service:
        # Trusts our server CA but presents a client certificate from another CA.
        foreign = stranger.leaf("gateway")
        mixed = type(foreign)(cert=foreign.cert, key=foreign.key, ca=pki.ca)
        channel = secure_channel(service.grpc_target, mixed)
        try:
            health = health_pb2_grpc.HealthStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            await channel.close()


async def test_plaintext_health_port_serves_health_and_nothing_else(
    database: TestDatabase, pki: DevPki, tmp_path: Path
) -> None:
    # Kubernetes' native gRPC probes speak plaintext: this port answers them, and only them.
    health_port = free_port()
    env = service_env(
        ROSTER,
        database,
        pki,
        make_jwt_keys(tmp_path),
        {"TRACKCC_ROSTER_HEALTH_LISTEN": f"127.0.0.1:{health_port}"},
    )
    async with started_service(ROSTER, env):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            process = await health.Check(health_pb2.HealthCheckRequest(service=""))
            assert process.status == health_pb2.HealthCheckResponse.SERVING
            await _wait_serving(health, ROSTER_SERVICE)
            roster = roster_service_pb2_grpc.RosterServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await roster.GetClass(roster_service_pb2.GetClassRequest(class_id="x"))
            assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
