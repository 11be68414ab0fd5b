"""One set of real services (auth, roster, sharing) per module and a gateway in front of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import AuthStack, auth_stack
from tests.support.backends import Backends, running_backends
from tests.support.clocks import WallClock
from tests.support.gateway import RunningGateway, gateway_env, running_gateway, wait_ready
from tests.support.postgres import create_test_database
from tests.support.services import make_jwt_keys


@pytest.fixture(scope="module")
async def backends(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backends]:
    database = await create_test_database(pg_endpoint)
    keys = make_jwt_keys(tmp_path_factory.mktemp("gateway-jwt"))
    async with running_backends(database, pki, keys) as running:
        yield running


@pytest.fixture(scope="module")
async def gateway(backends: Backends, pki: DevPki) -> AsyncIterator[RunningGateway]:
    env = gateway_env(pki, backends.keys.jwks_file, backends.targets())
    async with running_gateway(env, pki) as running:
        await wait_ready(running)
        yield running


@pytest.fixture(scope="module")
def clock() -> WallClock:
    """The clock of a module's clocked stack: real time until a test moves it."""
    return WallClock()


@pytest.fixture
def real_time_again(clock: WallClock) -> Iterator[None]:
    """Puts the module's clock back to real time after a test that moved it."""
    yield
    clock.reset()


@pytest.fixture(scope="module")
async def clocked_auth_stack(
    pg_endpoint: PostgresEndpoint,
    pki: DevPki,
    tmp_path_factory: pytest.TempPathFactory,
    clock: WallClock,
) -> AsyncIterator[AuthStack]:
    """The auth stack behind a gateway, with auth on the module's clock."""
    directory = tmp_path_factory.mktemp("clocked-auth")
    async with auth_stack(pg_endpoint, pki, directory, auth_clock=clock) as running:
        yield running
