"""The stack's PostgreSQL: the embedded server under the data directory, or DATABASE_URL.

Either way there is one database, ``trackcc``, provisioned exactly as production is: an owner
role and a runtime role per service, one schema each. Provisioning is idempotent, so it runs
on every start and repairs what a half-finished first start left.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.common.provision import SERVICES, ServiceRoles, ensure_database, provision
from services.localstack.dsn import with_credentials
from services.localstack.errors import StackError
from services.localstack.layout import DataLayout
from services.localstack.postgres import EmbeddedPostgres

DATABASE_NAME = "trackcc"


@dataclass
class LocalDatabase:
    """Where the server is, and the DSN of each service role in the ``trackcc`` database."""

    admin_url: str
    role_password: str
    embedded: EmbeddedPostgres | None

    def role_dsn(self, role: str) -> str:
        return with_credentials(
            self.admin_url, database=DATABASE_NAME, user=role, password=self.role_password
        )

    def runtime_dsn(self, service: str) -> str:
        return self.role_dsn(ServiceRoles(service).runtime)

    def owner_dsn(self, service: str) -> str:
        return self.role_dsn(ServiceRoles(service).owner)

    def stop(self) -> None:
        """Stops the embedded server unless another process still uses it; data stays."""
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def open_database(
    layout: DataLayout, database_url: str | None, role_password: str, *, create: bool
) -> LocalDatabase:
    """Starts (or joins) the embedded server, or uses DATABASE_URL; blocking.

    With ``create`` false a missing embedded database is an error instead of a new one, so
    the admin command line never silently makes an empty database next to the real one.
    """
    if database_url is not None:
        return LocalDatabase(database_url, role_password, None)
    if not create and not (layout.pg / "PG_VERSION").exists():
        raise StackError(
            f"no local database in {layout.display(layout.pg)}; run `make run` once, "
            "or set DATABASE_URL"
        )
    try:
        embedded = EmbeddedPostgres(layout.pg)
    except Exception as error:  # noqa: BLE001 - pgserver fails in many ways; all mean one thing
        raise StackError(
            f"could not start the embedded PostgreSQL ({type(error).__name__}: {error}); "
            f"its log is {layout.display(layout.pg / 'log')}"
        ) from None
    return LocalDatabase(embedded.endpoint.dsn("postgres"), role_password, embedded)


async def provision_database(
    admin_url: str,
    role_password: str | None,
    database: str = DATABASE_NAME,
    services: tuple[str, ...] = SERVICES,
) -> list[ServiceRoles]:
    """Creates the database if missing, then every service's roles and schema."""
    try:
        await ensure_database(admin_url, database)
        return await provision(
            with_credentials(admin_url, database=database), database, role_password, services
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        # The URL itself is never repeated: it may carry the administrator's password.
        raise StackError(f"could not provision database {database!r}: {error}") from None
