"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator

from services.common.grpc_transport import choose_grpc_endpoints

# The servers and channels the tests start in this process run on the same socket layer as
# the services themselves; refused (loudly) if a plugin imported gRPC first.
choose_grpc_endpoints(os.environ)

import pytest  # noqa: E402

from services.common.devcerts import DevPki, ensure_dev_pki  # noqa: E402
from services.localstack.postgres import PostgresEndpoint  # noqa: E402
from tests.support.engine import ContainerEngine, NoEngine, describe_backend, open_engine  # noqa: E402
from tests.support.postgres import (  # noqa: E402
    TestDatabase,
    create_test_database,
    drop_test_database,
    postgres_endpoint,
)
from tests.support.terminal import TerminalLines  # noqa: E402


def pytest_report_header() -> str:
    """The first lines of every run say which PostgreSQL serves the tests."""
    return describe_backend()


@pytest.fixture(scope="session")
def container_engine(request: pytest.FixtureRequest) -> Iterator[ContainerEngine | NoEngine]:
    """The Docker engine with this checkout's images built, or why there is none."""
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    out = TerminalLines(reporter) if reporter is not None else sys.stderr
    # Shown as the build goes, not captured: a first build takes minutes.
    with plugins.getplugin("capturemanager").global_and_fixture_disabled():
        engine = open_engine(out)
    yield engine
    if isinstance(engine, ContainerEngine):
        engine.client.close()


@pytest.fixture(scope="session")
def pg_endpoint(
    tmp_path_factory: pytest.TempPathFactory, container_engine: ContainerEngine | NoEngine
) -> Iterator[PostgresEndpoint]:
    """One real PostgreSQL server for the session."""
    with postgres_endpoint(tmp_path_factory.mktemp("pg"), container_engine) as endpoint:
        yield endpoint


@pytest.fixture
async def database(pg_endpoint: PostgresEndpoint) -> AsyncIterator[TestDatabase]:
    """A fresh provisioned database per test: no test sees another's rows; dropped after."""
    created = await create_test_database(pg_endpoint)
    yield created
    await drop_test_database(created)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    """A CA and certificates for gateway, auth, roster and sharing."""
    return ensure_dev_pki(tmp_path_factory.mktemp("tls"))
