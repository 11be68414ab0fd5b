"""Fixtures of the auth tests: the service over mTLS against a fresh database, and a mail sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.devcerts import DevPki
from tests.support.auth_service import MailSink, RunningAuth, capturing_mail, running_auth
from tests.support.postgres import TestDatabase


@pytest.fixture
async def mail_sink() -> AsyncIterator[MailSink]:
    async with capturing_mail() as sink:
        yield sink


@pytest.fixture
async def auth(
    database: TestDatabase, pki: DevPki, tmp_path: Path, mail_sink: MailSink
) -> AsyncIterator[RunningAuth]:
    async with running_auth(database, pki, tmp_path, mail_sink) as running:
        yield running
