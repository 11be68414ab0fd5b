"""What every part of the servicer shares: dependencies, the caller, the tuple protocol, and
the answers for a class or student that is not there (or not to be seen)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

import asyncpg
import grpc

from services.common import reasons
from services.common.callers import end_user
from services.common.db import DbConnection
from services.common.errors import NotFound, PermissionDenied
from services.common.timestamps import utc_now
from services.common.tokens import Verifier
from services.roster import journal, owner_access, students
from services.roster.config import PhotoLimits
from services.roster.decision_leases import DecisionLeases
from services.roster.decode_budget import DecodeBudget
from services.roster.metrics import RosterMetrics
from services.roster.photo_slots import PhotoSlots
from services.roster.sharing_client import Authorizer, Kind, Permission, Ref, Tuple
from services.roster.viewer_cache import ViewerCache
from trackcc.roster.v1 import roster_service_pb2 as pb

_T = TypeVar("_T")


@dataclass(frozen=True)
class Deps:
    """Injected into the servicer; tests pass a wrapped authorizer to simulate crashes."""

    pool: asyncpg.Pool
    authorizer: Authorizer
    verifier: Verifier
    photo_limits: PhotoLimits
    photo_executor: Executor | None
    photo_slots: PhotoSlots
    photo_decode_budget: DecodeBudget
    metrics: RosterMetrics
    clock: Callable[[], datetime] = utc_now
    viewer_cache: ViewerCache = field(default_factory=ViewerCache)
    # Sharing's leased answers for class pages; empty while sharing leases nothing.
    decision_leases: DecisionLeases = field(default_factory=DecisionLeases)


def class_not_found() -> NotFound:
    return NotFound("class not found", reason=reasons.NOT_FOUND)


def student_not_found() -> NotFound:
    return NotFound("student not found", reason=reasons.NOT_FOUND)


def different_owner() -> PermissionDenied:
    return PermissionDenied(
        "a student can only be enrolled in classes of its own owner",
        reason=reasons.DIFFERENT_OWNER,
    )


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
        return end_user(context, self._deps.verifier)[1]

    async def _require(
        self, user: uuid.UUID, kind: Kind, rid: uuid.UUID, perm: Permission
    ) -> pb.Access.ValueType:
        return await self._auth.require(user, Ref(kind, rid), perm)

    async def _as_owner_or_granted(
        self,
        user: uuid.UUID,
        ref: Ref,
        perm: Permission,
        statement: Callable[[uuid.UUID | None], Awaitable[_T | None]],
    ) -> tuple[_T | None, pb.Access.ValueType]:
        """A write in one hop for the owner (owner_access.py): ``statement`` runs guarded by
        ``owner_id = user``; when that matched nothing, sharing decides ``perm`` and it runs
        unguarded. Returns its result (None: no such row) and the caller's access."""
        done = await statement(user)
        if done is not None:
            return done, pb.ACCESS_OWNER
        access = await self._require(user, ref.kind, ref.id, perm)
        return await statement(None), access

    async def _access_from_row(
        self,
        user: uuid.UUID,
        kind: Kind,
        rid: uuid.UUID,
        owner_id: uuid.UUID | None,
        perm: Permission,
    ) -> pb.Access.ValueType:
        """The owner's access from the row just read, anyone else's from sharing
        (:mod:`services.roster.owner_access`)."""
        return await owner_access.access_from_row(self._auth, user, Ref(kind, rid), owner_id, perm)

    async def _student_access(
        self, user: uuid.UUID, student_id: uuid.UUID, perm: Permission
    ) -> pb.Access.ValueType:
        """The caller's access to a student, decided on its owner as stored now."""
        async with self._deps.pool.acquire() as connection:
            owner_id = await students.owner_of(connection, student_id)
        return await self._access_from_row(user, Kind.STUDENT, student_id, owner_id, perm)

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
