"""The tuple protocol with roster: WriteTuples, DeleteTuples, Check, BatchCheck and the lists.

Only roster calls these (its certificate's name is checked); it writes a tuple for every
relation it creates and asks Check before it shows or changes anything. "Who may see a
student" is told in ``permissions.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import grpc
from google.protobuf import empty_pb2

from services.common import fields, pagination
from services.common.callers import ROSTER, require_caller
from services.sharing import checks, convert, purge, tuples
from services.sharing.permissions import ENROLLED_IN, STUDENT, Permission, Relation
from services.sharing.rpc_base import RpcBase
from services.sharing.tuples import ResourceRef, TupleRow
from trackcc.sharing.v1 import sharing_service_pb2 as pb

MAX_BATCH = 1000
MAX_CHECKS = 100
# Check groups per BatchCheck, and resource ids in all of them.
MAX_GROUPS = 100
MAX_GROUP_IDS = 1000
UUID_BYTES = 16
# Roster pages through everything a user may see; a larger page saves it round trips.
MAX_SERVICE_PAGE = 1000


def _tuple_row(message: pb.Tuple, field: str) -> TupleRow:
    resource = convert.resource_ref(message.resource, f"{field}.resource")
    relation = convert.RELATIONS.get(message.relation)
    if relation is None:
        raise fields.invalid(f"{field}.relation", "must be set")
    if relation == ENROLLED_IN and resource.type != STUDENT:
        raise fields.invalid(f"{field}.relation", "ENROLLED_IN links a student to a class")
    return TupleRow(
        resource, relation, fields.parse_uuid(message.subject_id, f"{field}.subject_id")
    )


def _batch(messages: list[pb.Tuple], field: str) -> list[TupleRow]:
    if len(messages) > MAX_BATCH:
        raise fields.invalid(field, f"at most {MAX_BATCH} per call")
    return [_tuple_row(m, f"{field}[{i}]") for i, m in enumerate(messages)]


class TupleRpcs(RpcBase):
    """The relation tuples roster keeps here, and the checks and lists over them."""

    async def WriteTuples(  # noqa: N802 - gRPC method name
        self, request: pb.WriteTuplesRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        require_caller(context, ROSTER)
        rows = _batch(list(request.tuples), "tuples")
        async with self._deps.pool.acquire() as connection:
            await tuples.write(connection, rows)
        return empty_pb2.Empty()

    async def DeleteTuples(  # noqa: N802
        self, request: pb.DeleteTuplesRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        require_caller(context, ROSTER)
        rows = _batch(list(request.tuples), "tuples")
        if len(request.resources) > MAX_BATCH:
            raise fields.invalid("resources", f"at most {MAX_BATCH} per call")
        resources = [
            convert.resource_ref(r, f"resources[{i}]") for i, r in enumerate(request.resources)
        ]
        async with self._deps.pool.acquire() as connection, connection.transaction():
            narrowed = await tuples.delete(connection, rows)
            for resource in resources:
                narrowed |= await purge.purge_resource(connection, resource)
        if narrowed:
            # An unenrollment ends a class grantee's access to the student, a deleted class
            # its grantees' access to its students: answered once no lease predates it.
            await self._deps.leases.outlast_leases()
        return empty_pb2.Empty()

    async def Check(  # noqa: N802
        self, request: pb.CheckRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckResponse:
        require_caller(context, ROSTER)
        user_id, resource, permission, log_use = _check_args(request, "")
        async with self._deps.pool.acquire() as connection:
            decision = await checks.check(
                connection,
                user_id,
                resource,
                permission,
                self._now(),
                self._deps.recent_views,
                log_use=log_use,
                leases=self._deps.leases,
            )
        return _check_response(decision)

    async def BatchCheck(  # noqa: N802
        self, request: pb.BatchCheckRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchCheckResponse:
        require_caller(context, ROSTER)
        if len(request.checks) > MAX_CHECKS:
            raise fields.invalid("checks", f"at most {MAX_CHECKS} per call")
        args = [_check_args(c, f"checks[{i}].") for i, c in enumerate(request.checks)]
        groups = _groups(request.groups)
        now = self._now()
        # One lookup statement per user asked about; roster coalesces the checks of concurrent
        # requests, so one batch may hold several users.
        by_user: dict[uuid.UUID, list[int]] = {}
        for index, (user_id, *_) in enumerate(args):
            by_user.setdefault(user_id, []).append(index)
        results: list[pb.CheckResponse] = [pb.CheckResponse()] * len(args)
        async with self._deps.pool.acquire() as connection:
            for user_id, indexes in by_user.items():
                answers = await checks.check_many(
                    connection,
                    user_id,
                    [args[i][1:] for i in indexes],
                    now,
                    self._deps.recent_views,
                    leases=self._deps.leases,
                )
                for i, decision in zip(indexes, answers, strict=True):
                    results[i] = _check_response(decision)
            group_answers = (
                await checks.check_groups(
                    connection, groups, now, self._deps.recent_views, leases=self._deps.leases
                )
                if groups
                else []
            )
        return pb.BatchCheckResponse(
            results=results,
            group_results=[
                pb.CheckGroupResult(
                    relations=[_RELATION_PB.get(r, pb.RELATION_UNSPECIFIED) for r in a.relations],
                    allowed=a.allowed,
                    lease_ms=a.lease_ms,
                )
                for a in group_answers
            ],
        )

    async def ListResources(  # noqa: N802
        self, request: pb.ListResourcesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListResourcesResponse:
        require_caller(context, ROSTER)
        user_id = fields.parse_uuid(request.user_id, "user_id")
        resource_type = convert.RESOURCE_TYPES.get(request.resource_type)
        if resource_type is None:
            raise fields.invalid("resource_type", "must be CLASS or STUDENT")
        permission = convert.permission(request.permission)
        size = pagination.page_size(request.page_size, MAX_SERVICE_PAGE)
        keys = pagination.scoped_keys(request.page_token, "resources", 1)
        after = pagination.token_uuid(keys[0]) if keys else None
        async with self._deps.pool.acquire() as connection:
            found = await tuples.list_resources(
                connection, user_id, resource_type, permission, self._now(), after, size + 1
            )
        page = found[:size]
        return pb.ListResourcesResponse(
            resources=[
                pb.ResourceAccess(resource_id=str(rid), relation=convert.RELATIONS_PB[rel])
                for rid, rel in page
            ],
            next_page_token=pagination.encode_token("resources", str(page[-1][0]))
            if len(found) > size
            else "",
        )

    async def ListSubjects(  # noqa: N802
        self, request: pb.ListSubjectsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSubjectsResponse:
        require_caller(context, ROSTER)
        resource = convert.resource_ref(request.resource)
        size = pagination.page_size(request.page_size, MAX_SERVICE_PAGE)
        keys = pagination.scoped_keys(request.page_token, "subjects", 2)
        after = (keys[0], pagination.token_uuid(keys[1])) if keys else None
        async with self._deps.pool.acquire() as connection:
            found = await tuples.list_subjects(connection, resource, self._now(), after, size + 1)
        page = found[:size]
        return pb.ListSubjectsResponse(
            tuples=[
                pb.Tuple(
                    resource=request.resource,
                    relation=convert.RELATIONS_PB[relation],
                    subject_id=str(subject),
                )
                for relation, subject in page
            ],
            next_page_token=(
                pagination.encode_token("subjects", page[-1][0], str(page[-1][1]))
                if len(found) > size
                else ""
            ),
        )


def _check_args(
    request: pb.CheckRequest, prefix: str
) -> tuple[uuid.UUID, ResourceRef, Permission, bool]:
    """(user, resource, permission, log_use) of a check."""
    user_id = fields.parse_uuid(request.user_id, f"{prefix}user_id")
    resource = convert.resource_ref(request.resource, f"{prefix}resource")
    permission = convert.permission(request.permission, f"{prefix}permission")
    # Skipping the log is for filtering what a caller is shown; a change must always be logged.
    if request.skip_access_log and permission is not Permission.READ:
        raise fields.invalid(f"{prefix}skip_access_log", "only a read may skip the access log")
    return user_id, resource, permission, not request.skip_access_log


_RELATION_PB: dict[Relation | None, pb.Relation.ValueType] = {
    r: convert.RELATIONS_PB[r.value] for r in Relation
}


def _groups(messages: Sequence[pb.CheckGroup]) -> list[checks.Group]:
    """The validated check groups of a BatchCheck; every id is 16 bytes."""
    if len(messages) > MAX_GROUPS:
        raise fields.invalid("groups", f"at most {MAX_GROUPS} per call")
    if sum(len(m.resource_ids) for m in messages) > MAX_GROUP_IDS:
        raise fields.invalid("groups", f"at most {MAX_GROUP_IDS} resource ids in all per call")
    groups = []
    for i, message in enumerate(messages):
        prefix = f"groups[{i}]."
        resource_type = convert.RESOURCE_TYPES.get(message.resource_type)
        if resource_type is None:
            raise fields.invalid(f"{prefix}resource_type", "must be CLASS or STUDENT")
        permission = convert.permission(message.permission, f"{prefix}permission")
        if message.skip_access_log and permission is not Permission.READ:
            raise fields.invalid(f"{prefix}skip_access_log", "only a read may skip the access log")
        ids = list(message.resource_ids)
        for j, raw in enumerate(ids):
            if len(raw) != UUID_BYTES:
                raise fields.invalid(f"{prefix}resource_ids[{j}]", "must be a UUID's 16 bytes")
        groups.append(
            checks.Group(
                user_id=fields.parse_uuid(message.user_id, f"{prefix}user_id"),
                resource_type=resource_type,
                permission=permission,
                log_use=not message.skip_access_log,
                resource_ids=ids,
            )
        )
    return groups


def _check_response(decision: checks.Decision) -> pb.CheckResponse:
    access = decision.access
    return pb.CheckResponse(
        allowed=decision.allowed,
        relation=convert.RELATIONS_PB[access.relation] if access else pb.RELATION_UNSPECIFIED,
        lease_ms=decision.lease_ms,
    )
