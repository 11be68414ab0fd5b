"""Service clocks that tests move instead of sleeping, and service definitions that use them.

A :class:`WallClock` runs with real time plus an offset. Given to auth or sharing through
their ``build``, it moves what those services call "now" (token, session, invitation and grant
expiry) while the access-token verifiers keep checking ``exp`` against real time: tokens issued
before a move keep working, so a test can show what a still-signed-in user sees after days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg
from prometheus_client import CollectorRegistry

from services.auth import service as auth_service
from services.common.config import Env
from services.common.service_main import ServiceDefinition
from services.sharing import service as sharing_service
from services.sharing.config import SharingSettings


class WallClock:
    """UTC now plus an offset that a test moves ahead (and back, with :meth:`reset`)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        self.offset += delta

    def reset(self) -> None:
        self.offset = dt.timedelta(0)


def clocked_auth(clock: WallClock) -> ServiceDefinition:
    """auth, built as in production except that ``clock`` is its now."""

    async def build(
        env: Env, pool: asyncpg.Pool, registry: CollectorRegistry
    ) -> auth_service.AuthParts:
        return await auth_service.build(env, pool, registry, clock)

    return dataclasses.replace(auth_service.DEFINITION, build=build)


def clocked_sharing(clock: WallClock) -> ServiceDefinition:
    """sharing, built as in production except that ``clock`` is its now."""

    async def build(
        env: Env, pool: asyncpg.Pool, registry: CollectorRegistry
    ) -> sharing_service.SharingParts:
        return sharing_service.build_parts(
            SharingSettings.from_env(env), pool, registry, clock=clock
        )

    return dataclasses.replace(sharing_service.DEFINITION, build=build)


def rfc3339(instant: dt.datetime) -> str:
    """``instant`` as the API writes times: whole seconds, UTC, ``Z``."""
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
