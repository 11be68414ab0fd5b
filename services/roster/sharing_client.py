"""The client of sharing: every authorization question roster asks, and the tuples it writes.

One long-lived mTLS channel (roster's certificate is how sharing knows the caller). Questions
about several resources go in one BatchCheck or ListResources call, never one call per item;
the checks of concurrent requests share calls too (:mod:`services.roster.check_batcher`).
Many resources of one kind (a page of students, the reads a list logs, the class ids a page
filters) are asked as one check group (:class:`Group`): sharing's compact form, with no
message per resource on either side.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias, TypeVar

import grpc

from services.common import reasons
from services.common.errors import NotFound, PermissionDenied, ServiceError
from services.common.tls import TlsFiles, secure_channel
from services.roster.check_batcher import CheckBatcher
from trackcc.roster.v1 import roster_service_pb2 as roster_pb
from trackcc.sharing.v1 import sharing_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2_grpc as pb_grpc

# Limits of sharing's API (services/sharing/server.py): tuples per write, list page.
MAX_TUPLES = 1000
LIST_PAGE = 1000
# Filtering more ids than this asks ListResources once instead: checks grow with the ids a
# page shows, and a request's share of a coalesced batch should stay bounded.
MAX_FILTER_CHECKS = 100
# Calls wait (up to the deadline) for sharing to be reachable instead of failing at once:
# right after a restart sharing may not listen yet, and a roster request should not 503 then.
CALL_TIMEOUT_SECONDS = 5.0

T = TypeVar("T")
R = TypeVar("R")


class Kind(Enum):
    """The resources sharing knows."""

    CLASS = pb.RESOURCE_TYPE_CLASS
    STUDENT = pb.RESOURCE_TYPE_STUDENT


class Permission(Enum):
    """What may be asked."""

    READ = pb.PERMISSION_READ
    WRITE = pb.PERMISSION_WRITE
    DELETE = pb.PERMISSION_DELETE


# Roster's Access of a resource (owner, editor, viewer), as sharing's relation gives it.
AccessLevel: TypeAlias = roster_pb.Access.ValueType

ACCESS_OF_RELATION: dict[pb.Relation.ValueType, AccessLevel] = {
    pb.RELATION_OWNER: roster_pb.ACCESS_OWNER,
    pb.RELATION_EDITOR: roster_pb.ACCESS_EDITOR,
    pb.RELATION_VIEWER: roster_pb.ACCESS_VIEWER,
}


@dataclass(frozen=True)
class Ref:
    """A class or a student."""

    kind: Kind
    id: uuid.UUID

    def message(self) -> pb.Resource:
        return pb.Resource(type=self.kind.value, id=str(self.id))


@dataclass(frozen=True)
class Tuple:
    """(resource, relation, subject): an owner tuple or an enrollment link."""

    ref: Ref
    relation: pb.Relation.ValueType
    subject_id: uuid.UUID

    def message(self) -> pb.Tuple:
        return pb.Tuple(
            resource=self.ref.message(),
            relation=self.relation,
            subject_id=str(self.subject_id),
        )


@dataclass(frozen=True)
class Ask:
    """One question. ``log_use=False`` only where roster filters which ids a caller is shown:
    such a check is not a use of the resource, so sharing leaves it out of the access log."""

    ref: Ref
    permission: Permission = Permission.READ
    log_use: bool = True

    def __post_init__(self) -> None:
        # sharing refuses it, and the refusal would fail every request sharing the batch.
        if not self.log_use and self.permission is not Permission.READ:
            raise ValueError("only a read may skip the access log")


@dataclass(frozen=True)
class Group:
    """Many resources of one kind asked at once: answered and logged by sharing exactly as an
    :class:`Ask` for each id would be (``log_use`` as there)."""

    kind: Kind
    ids: Sequence[uuid.UUID]
    permission: Permission = Permission.READ
    log_use: bool = True

    def __post_init__(self) -> None:
        if not self.log_use and self.permission is not Permission.READ:
            raise ValueError("only a read may skip the access log")

    def message(self, user_id: uuid.UUID) -> pb.CheckGroup:
        return pb.CheckGroup(
            user_id=str(user_id),
            resource_type=self.kind.value,
            permission=self.permission.value,
            skip_access_log=not self.log_use,
            resource_ids=[i.bytes for i in self.ids],
        )


def owner_tuple(ref: Ref, owner_id: uuid.UUID) -> Tuple:
    """The tuple that makes ``owner_id`` own the resource."""
    return Tuple(ref, pb.RELATION_OWNER, owner_id)


def enrollment_link(student_id: uuid.UUID, class_id: uuid.UUID) -> Tuple:
    """(student, id, enrolled_in, class): how a class grant reaches the student."""
    return Tuple(Ref(Kind.STUDENT, student_id), pb.RELATION_ENROLLED_IN, class_id)


_SHARING_GONE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)


class SharingUnavailable(ServiceError):
    """Sharing did not answer: nothing may be decided without it."""

    grpc_code = grpc.StatusCode.UNAVAILABLE
    default_reason = reasons.SHARING_UNAVAILABLE


def _not_found(ref: Ref) -> NotFound:
    # The same answer whether the resource is missing or hidden, so existence does not leak.
    return NotFound(f"{ref.kind.name.lower()} not found", reason=reasons.NOT_FOUND)


def _denied(ref: Ref, permission: Permission) -> PermissionDenied:
    return PermissionDenied(
        f"your access to this {ref.kind.name.lower()} does not allow {permission.name.lower()}",
        reason=reasons.FORBIDDEN,
    )


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def decide(
    asks: Sequence[tuple[Ref, Permission]], answers: Sequence[pb.CheckResponse]
) -> list[AccessLevel]:
    """The caller's access for each ask if every one is allowed; NOT_FOUND wins over
    PERMISSION_DENIED, so a hidden resource is never told apart from a missing one."""
    for (ref, _), answer in zip(asks, answers, strict=True):
        if answer.relation not in ACCESS_OF_RELATION:
            raise _not_found(ref)
    for (ref, permission), answer in zip(asks, answers, strict=True):
        if not answer.allowed:
            raise _denied(ref, permission)
    return [ACCESS_OF_RELATION[a.relation] for a in answers]


def readable(
    refs: Sequence[Ref], answers: Sequence[pb.CheckResponse]
) -> dict[uuid.UUID, AccessLevel]:
    """The caller's access to each resource the (read) answers allow; others are left out."""
    return {
        ref.id: ACCESS_OF_RELATION[answer.relation]
        for ref, answer in zip(refs, answers, strict=True)
        if answer.allowed and answer.relation in ACCESS_OF_RELATION
    }


def readable_in(group: Group, answer: pb.CheckGroupResult) -> dict[uuid.UUID, AccessLevel]:
    """:func:`readable` of a (read) group's answer."""
    return {
        i: ACCESS_OF_RELATION[relation]
        for i, relation, allowed in zip(group.ids, answer.relations, answer.allowed, strict=True)
        if allowed and relation in ACCESS_OF_RELATION
    }


class Authorizer:
    """Asks sharing; on the long-lived channel of :class:`SharingChannel`, or a test's."""

    def __init__(
        self, stub: pb_grpc.SharingServiceAsyncStub, checks: CheckBatcher | None = None
    ) -> None:
        self.stub = stub
        # Wrappers of an authorizer (tests) pass its batcher on, so all checks coalesce.
        self.checks = checks or CheckBatcher(stub, timeout=CALL_TIMEOUT_SECONDS)

    async def require(self, user_id: uuid.UUID, ref: Ref, permission: Permission) -> AccessLevel:
        """The caller's access (roster ``Access``) if the permission is allowed.

        Unseen answers NOT_FOUND, seen but not allowed answers PERMISSION_DENIED.
        """
        return (await self.require_all(user_id, [(ref, permission)]))[0]

    async def require_all(
        self, user_id: uuid.UUID, asks: Sequence[tuple[Ref, Permission]]
    ) -> list[AccessLevel]:
        """Several :meth:`require` in one call; NOT_FOUND wins over PERMISSION_DENIED."""
        return decide(asks, await self.ask(user_id, [Ask(ref, perm) for ref, perm in asks]))

    async def access_of(
        self, user_id: uuid.UUID, refs: Sequence[Ref]
    ) -> dict[uuid.UUID, AccessLevel]:
        """The caller's access to each resource it may read; unseen ones are left out."""
        return readable(refs, await self.ask(user_id, [Ask(ref) for ref in refs]))

    async def readable_ids(
        self, user_id: uuid.UUID, kind: Kind, ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of ``ids`` the user may read, logging no use: for filtering the ids shown."""
        if len(ids) > MAX_FILTER_CHECKS:
            return set(await self.visible(user_id, kind)).intersection(ids)
        group = Group(kind, list(ids), log_use=False)
        _, [answer] = await self.ask_groups(user_id, [], [group])
        return set(readable_in(group, answer))

    async def log_reads(self, user_id: uuid.UUID, kind: Kind, ids: Sequence[uuid.UUID]) -> None:
        """Logs the reads of records a list returns to someone other than their owner.

        docs/api.md: every read by a non-owner appears in the owner's access log, lists too. The
        checks go as one group (sharing logs each allowed one, coalesced per hour, and logs
        nothing for the owner); their answers are not needed, the list already decided.
        """
        if ids:
            await self.ask_groups(user_id, [], [Group(kind, ids)])

    async def ask(self, user_id: uuid.UUID, asks: Sequence[Ask]) -> list[pb.CheckResponse]:
        """Sharing's answers, in order, in one round trip shared with concurrent requests."""
        return await self._call(self.checks.check(_check_requests(user_id, asks)))

    async def ask_groups(
        self, user_id: uuid.UUID, asks: Sequence[Ask], groups: Sequence[Group]
    ) -> tuple[list[pb.CheckResponse], list[pb.CheckGroupResult]]:
        """:meth:`ask` with check groups besides: the answers to each, in order."""
        return await self._call(
            self.checks.ask(
                _check_requests(user_id, asks), [group.message(user_id) for group in groups]
            )
        )

    async def visible(
        self, user_id: uuid.UUID, kind: Kind, permission: Permission = Permission.READ
    ) -> dict[uuid.UUID, AccessLevel]:
        """Every resource of a kind the user has the permission on, with the user's access."""
        found: dict[uuid.UUID, AccessLevel] = {}
        token = ""
        while True:
            reply = await self._call(
                self.stub.ListResources(
                    pb.ListResourcesRequest(
                        user_id=str(user_id),
                        resource_type=kind.value,
                        permission=permission.value,
                        page_size=LIST_PAGE,
                        page_token=token,
                    ),
                    timeout=CALL_TIMEOUT_SECONDS,
                    wait_for_ready=True,
                )
            )
            for item in reply.resources:
                if item.relation in ACCESS_OF_RELATION:
                    found[uuid.UUID(item.resource_id)] = ACCESS_OF_RELATION[item.relation]
            token = reply.next_page_token
            if not token:
                return found

    async def write_tuples(self, tuples: Sequence[Tuple]) -> None:
        """Writes tuples (idempotent)."""
        for chunk in _chunks(tuples, MAX_TUPLES):
            await self._call(
                self.stub.WriteTuples(
                    pb.WriteTuplesRequest(tuples=[t.message() for t in chunk]),
                    timeout=CALL_TIMEOUT_SECONDS,
                    wait_for_ready=True,
                )
            )

    async def delete_tuples(
        self, tuples: Sequence[Tuple] = (), resources: Sequence[Ref] = ()
    ) -> None:
        """Deletes tuples, and every tuple, grant and invitation of deleted resources."""
        for chunk in _chunks(tuples, MAX_TUPLES):
            await self._call(
                self.stub.DeleteTuples(
                    pb.DeleteTuplesRequest(tuples=[t.message() for t in chunk]),
                    timeout=CALL_TIMEOUT_SECONDS,
                    wait_for_ready=True,
                )
            )
        for group in _chunks(resources, MAX_TUPLES):
            await self._call(
                self.stub.DeleteTuples(
                    pb.DeleteTuplesRequest(resources=[r.message() for r in group]),
                    timeout=CALL_TIMEOUT_SECONDS,
                    wait_for_ready=True,
                )
            )

    @staticmethod
    async def _call(call: Awaitable[R]) -> R:
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            # CANCELLED: sharing cancelled a call that raced its shutdown (roster's own
            # cancellations raise CancelledError, never a status).
            if error.code() in _SHARING_GONE:
                raise SharingUnavailable("the sharing service did not answer") from None
            raise


def _check_requests(user_id: uuid.UUID, asks: Sequence[Ask]) -> list[pb.CheckRequest]:
    return [
        pb.CheckRequest(
            user_id=str(user_id),
            resource=ask.ref.message(),
            permission=ask.permission.value,
            skip_access_log=not ask.log_use,
        )
        for ask in asks
    ]


class SharingChannel:
    """The long-lived channel to sharing and the :class:`Authorizer` on it."""

    def __init__(self, target: str, tls: TlsFiles, server_name: str | None) -> None:
        self._channel = secure_channel(target, tls, server_name=server_name)
        self.authorizer = Authorizer(pb_grpc.SharingServiceStub(self._channel))  # type: ignore[arg-type]

    async def aclose(self) -> None:
        await self.authorizer.checks.aclose()
        await self._channel.close()
