"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.common.devcerts import DevPki, ensure_dev_pki
from services.localstack.postgres import PostgresEndpoint
from tests.support.postgres import TestDatabase, create_test_database, postgres_endpoint


@pytest.fixture(scope="session")
def pg_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresEndpoint]:
    """One real PostgreSQL server for the session."""
    with postgres_endpoint(tmp_path_factory.mktemp("pg")) as endpoint:
        yield endpoint


@pytest.fixture
async def database(pg_endpoint: PostgresEndpoint) -> TestDatabase:
    """A fresh provisioned database per test: no test sees another's rows."""
    return await create_test_database(pg_endpoint)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    """A CA and certificates for gateway, auth, roster and sharing."""
    return ensure_dev_pki(tmp_path_factory.mktemp("tls"))
