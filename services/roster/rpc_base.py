"""What every part of the servicer shares: dependencies, the caller, the tuple protocol."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg
import grpc

from services.common.db import DbConnection
from services.common.errors import PermissionDenied, Unauthenticated
from services.common.tls import peer_common_name
from services.common.tokens import TokenVerifier, principal_from_context
from services.roster import journal
from services.roster.authorization import Authorizer, Kind, Permission, Ref, Tuple
from services.roster.class_page_access import ViewerHints
from services.roster.config import PhotoLimits
from services.roster.metrics import RosterMetrics

GATEWAY = "gateway"
AUTH = "auth"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    """Injected into the servicer; tests pass a wrapped authorizer to simulate crashes."""

    pool: asyncpg.Pool
    authorizer: Authorizer
    verifier: TokenVerifier
    photo_limits: PhotoLimits
    photo_executor: Executor | None
    metrics: RosterMetrics
    clock: Callable[[], datetime] = utc_now
    viewer_hints: ViewerHints = field(default_factory=ViewerHints)


def require_caller(context: grpc.aio.ServicerContext, *allowed: str) -> str:
    """The calling service (its certificate's name) if allowed; else PERMISSION_DENIED."""
    name = peer_common_name(context)
    if name is None or name not in allowed:
        raise PermissionDenied("this service may not call this method", reason="caller_not_allowed")
    return name


class RpcBase:
    """Holds the dependencies; the RPC groups are mixins of this."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    @property
    def _auth(self) -> Authorizer:
        return self._deps.authorizer

    def _today(self) -> date:
        return self._deps.clock().date()

    def _user(self, context: grpc.aio.ServicerContext) -> uuid.UUID:
        """The end user, from the forwarded access token; user calls come via the gateway."""
        require_caller(context, GATEWAY)
        principal = principal_from_context(context, self._deps.verifier)
        try:
            return uuid.UUID(principal.user_id)
        except ValueError:
            raise Unauthenticated("invalid access token", reason="invalid_token") from None

    async def _require(self, user: uuid.UUID, kind: Kind, rid: uuid.UUID, perm: Permission) -> int:
        return await self._auth.require(user, Ref(kind, rid), perm)

    async def _create_with_tuples(
        self, connection: DbConnection, entries: Sequence[journal.Entry]
    ) -> list[int]:
        """Step one of a create: the journal entry commits before any tuple is written, so a
        crash after the tuple write but before the row commits leaves a trace to repair."""
        return await journal.record(connection, entries)

    async def _tuples_written(self, tuples: Sequence[Tuple]) -> None:
        """Step two of a create, inside the row's transaction: the tuples exist before the row
        commits, so a committed row is never without its tuples."""
        await self._auth.write_tuples(tuples)

    async def _after_delete(
        self,
        connection: DbConnection,
        journal_ids: Sequence[int],
        tuples: Sequence[Tuple] = (),
        resources: Sequence[Ref] = (),
    ) -> None:
        """After a deletion committed (with its journal entries): remove the tuples, then the
        entries. A crash in between leaves the entries for the reconciler."""
        await self._auth.delete_tuples(tuples, resources)
        await journal.done(connection, journal_ids)
