"""Fixtures of the roster tests: roster and the real sharing service, real PostgreSQL, mTLS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.devcerts import DevPki
from tests.support.postgres import TestDatabase
from tests.support.roster_service import Stack, running_stack
from tests.support.services import make_jwt_keys


@pytest.fixture
async def stack(database: TestDatabase, pki: DevPki, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(database, pki, make_jwt_keys(tmp_path)) as running:
        yield running
