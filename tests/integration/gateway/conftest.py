"""One set of real services (auth, roster, sharing) per module and a gateway in front of them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from services.auth.service import DEFINITION as AUTH
from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from services.roster.service import DEFINITION as ROSTER
from services.sharing.service import DEFINITION as SHARING
from tests.support.gateway import RunningGateway, gateway_env, running_gateway
from tests.support.postgres import TestDatabase, create_test_database
from tests.support.services import (
    JwtKeys,
    StartedService,
    make_jwt_keys,
    service_env,
    started_service,
)


@dataclass(frozen=True)
class Backends:
    """The three services the gateway calls, running against one test database."""

    database: TestDatabase
    keys: JwtKeys
    auth: StartedService
    roster: StartedService
    sharing: StartedService

    def targets(self) -> dict[str, str]:
        return {
            "auth": self.auth.target,
            "roster": self.roster.target,
            "sharing": self.sharing.target,
        }


@pytest.fixture(scope="module")
async def backends(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backends]:
    database = await create_test_database(pg_endpoint)
    keys = make_jwt_keys(tmp_path_factory.mktemp("gateway-jwt"))
    async with contextlib.AsyncExitStack() as stack:
        auth, sharing = [
            await stack.enter_async_context(
                started_service(definition, service_env(definition, database, pki, keys))
            )
            for definition in (AUTH, SHARING)
        ]
        # roster asks sharing on every call, so sharing runs first and roster is told where.
        roster = await stack.enter_async_context(
            started_service(ROSTER, service_env(ROSTER, database, pki, keys, roster_extra(sharing)))
        )
        yield Backends(database, keys, auth, roster, sharing)


def roster_extra(sharing: StartedService) -> dict[str, str]:
    """roster's environment beyond the defaults: where sharing answers."""
    return {"TRACKCC_ROSTER_SHARING_TARGET": sharing.target}


@pytest.fixture(scope="module")
async def gateway(backends: Backends, pki: DevPki) -> AsyncIterator[RunningGateway]:
    env = gateway_env(pki, backends.keys.jwks_file, backends.targets())
    async with running_gateway(env, pki) as running:
        await wait_ready(running)
        yield running


async def wait_ready(gateway: RunningGateway, within_seconds: float = 15.0) -> None:
    """Polls /readyz until the services report SERVING (their readiness loop starts NOT_SERVING)."""
    async with asyncio.timeout(within_seconds):
        while True:
            async with gateway.http.get("/readyz") as response:
                if response.status == 200:
                    return
            await asyncio.sleep(0.1)
