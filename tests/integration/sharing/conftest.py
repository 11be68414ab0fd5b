"""Fixtures of the sharing tests: the service on real PostgreSQL and mTLS, and an SMTP sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.config import Env
from services.common.devcerts import DevPki
from services.sharing.service import DEFINITION
from tests.support.ports import free_port
from tests.support.postgres import TestDatabase
from tests.support.services import JwtKeys, make_jwt_keys, service_env
from tests.support.sharing_service import PUBLIC_URL, Sharing, running_sharing


@pytest.fixture
def jwt_keys(tmp_path: Path) -> JwtKeys:
    return make_jwt_keys(tmp_path)


@pytest.fixture
def sharing_env(database: TestDatabase, pki: DevPki, jwt_keys: JwtKeys) -> Env:
    return service_env(
        DEFINITION,
        database,
        pki,
        jwt_keys,
        {
            "TRACKCC_PUBLIC_URL": PUBLIC_URL,
            "TRACKCC_SMTP_HOST": "127.0.0.1",
            "TRACKCC_SMTP_PORT": str(free_port()),
        },
    )


@pytest.fixture
async def sharing(
    sharing_env: Env, pki: DevPki, jwt_keys: JwtKeys, database: TestDatabase
) -> AsyncIterator[Sharing]:
    async with running_sharing(
        sharing_env, pki, jwt_keys, database.runtime_dsn("sharing")
    ) as service:
        yield service
