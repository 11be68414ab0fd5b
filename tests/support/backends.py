"""The three real services a gateway calls (auth, roster, sharing) on one test database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.auth.service import DEFINITION as AUTH
from services.common.devcerts import DevPki
from services.roster.service import DEFINITION as ROSTER
from services.sharing.service import DEFINITION as SHARING
from tests.support.postgres import TestDatabase
from tests.support.services import JwtKeys, StartedService, service_env, started_service


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


@contextlib.asynccontextmanager
async def running_backends(
    database: TestDatabase, pki: DevPki, keys: JwtKeys
) -> AsyncIterator[Backends]:
    """auth, sharing and then roster (which is told where sharing answers), stopped on exit."""
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
