"""``trackcc-admin migrate``: every service's migrations, each with its schema owner's role.

The owner DSNs come from ``TRACKCC_<SERVICE>_MIGRATE_DATABASE_URL`` when set (a deployment),
else from the local stack's data directory: DATABASE_URL or the embedded server in
``var/pg``, with the role password the stack keeps in ``var/keys``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import asyncpg

import services
from services.common.config import Env
from services.common.migrations import MigrationError, migrate_dsn
from services.common.provision import SERVICES
from services.localstack.database import LocalDatabase, open_database
from services.localstack.errors import StackError
from services.localstack.layout import DataLayout

_SERVICES_ROOT = Path(services.__file__).parent


def migrations_directory(service: str) -> Path:
    """``services/<service>/migrations``, where every service keeps its SQL files."""
    return _SERVICES_ROOT / service / "migrations"


def _env_name(service: str) -> str:
    return f"TRACKCC_{service.upper()}_MIGRATE_DATABASE_URL"


@contextlib.contextmanager
def owner_dsns(env: Env) -> Iterator[dict[str, str]]:
    """The owner DSN of every service; joins the local database only if one is missing."""
    dsns: dict[str, str] = {}
    for service in SERVICES:
        if env.optional_str(_env_name(service)) is not None:
            dsns[service] = env.url(_env_name(service), ("postgresql", "postgres"))
    if len(dsns) == len(SERVICES):
        yield dsns
        return
    local = open_local_database(env)
    try:
        for service in SERVICES:
            dsns.setdefault(service, local.owner_dsn(service))
        yield dsns
    finally:
        local.stop()


def open_local_database(env: Env) -> LocalDatabase:
    """The local stack's database (started for the command if it is not running)."""
    layout = DataLayout(Path(env.str("TRACKCC_DATA_DIR", "var")).resolve())
    database_url = env.optional_str("DATABASE_URL")
    if database_url is not None:
        env.url("DATABASE_URL", ("postgresql", "postgres"))
    if not layout.role_password.exists():
        raise StackError(
            f"no local stack in {layout.display(layout.root)} (run `make run` once), and "
            + ", ".join(_env_name(s) for s in SERVICES)
            + " are not all set"
        )
    password = layout.role_password.read_text().strip()
    return open_database(layout, database_url, password, create=False)


async def _migrate_all(dsns: dict[str, str]) -> str:
    lines = []
    for service in SERVICES:
        try:
            applied = await migrate_dsn(dsns[service], service, migrations_directory(service))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise StackError(f"{service}: cannot migrate: {error}") from None
        except MigrationError as error:
            raise StackError(str(error)) from None
        done = ", ".join(f"{version:04d}" for version in applied)
        lines.append(f"{service}: applied {done}" if applied else f"{service}: up to date")
    return "\n".join(lines) + "\n"


def migrate_command(env: Env) -> str:
    """Runs every pending migration; returns what was applied per service."""
    with owner_dsns(env) as dsns:
        return asyncio.run(_migrate_all(dsns))
