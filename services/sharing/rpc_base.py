"""What every part of the servicer shares: its dependencies and the caller checks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import grpc

from services.common import reasons
from services.common.callers import end_user
from services.common.db import DbConnection
from services.common.errors import NotFound, PermissionDenied
from services.common.tokens import Principal, Verifier
from services.sharing import checks, permissions
from services.sharing.access_log import RecentViews
from services.sharing.decision_leases import NO_LEASES, LeasePolicy
from services.sharing.permissions import Access, Permission
from services.sharing.tuples import ResourceRef

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Deps:
    """Injected into the servicer: tests pass a fixed clock and drive the mail worker."""

    pool: asyncpg.Pool
    verifier: Verifier
    clock: Clock
    public_url: str
    # Called after a transaction that enqueued mail has committed (wakes the outbox worker).
    mail_enqueued: Callable[[], None]
    recent_views: RecentViews = field(default_factory=RecentViews)
    # How long roster may reuse an allowed read's answer (decision_leases.py); off by default.
    leases: LeasePolicy = NO_LEASES


@dataclass(frozen=True)
class User:
    """The end user of a call, from the forwarded access token only."""

    principal: Principal
    id: uuid.UUID

    @property
    def email(self) -> str:
        return self.principal.email.strip().lower()


class RpcBase:
    """Holds the dependencies; the RPC groups are mixins of this."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    def _now(self) -> datetime:
        return self._deps.clock()

    def _user(self, context: grpc.aio.ServicerContext) -> User:
        """The user of a user-facing call; such calls come through the gateway only."""
        return User(*end_user(context, self._deps.verifier))


def not_found(what: str = "resource") -> NotFound:
    """The one answer for "does not exist" and "you may not see it"."""
    return NotFound(f"{what} not found")


async def require_share(
    connection: DbConnection,
    user_id: uuid.UUID,
    resource: ResourceRef,
    now: datetime,
    *,
    readers_get_403: bool,
) -> Access:
    """The caller's access if it includes share (the owner's); else NOT_FOUND, or 403 for a
    caller who can see the resource where the API says so (invite, resend, revoke)."""
    access = await checks.access_of(connection, user_id, resource, now)
    if access is not None and permissions.allows(access.relation, Permission.SHARE):
        return access
    if access is not None and readers_get_403:
        raise PermissionDenied("only the owner may share this", reason=reasons.NOT_OWNER)
    raise not_found()
