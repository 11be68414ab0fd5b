"""Class RPCs: create, read, list, change, delete."""

from __future__ import annotations

import uuid

import grpc
from google.protobuf import empty_pb2

from services.common import fields, idempotency, pagination
from services.common.db import DbConnection
from services.roster import classes, convert, journal
from services.roster.rpc_base import RpcBase, class_not_found
from services.roster.sharing_client import Kind, Permission, Ref, owner_tuple
from trackcc.roster.v1 import roster_service_pb2 as pb

_SCOPE = "classes"
# The operation an Idempotency-Key is bound to (services/common/idempotency.py).
CREATE_CLASS = idempotency.operation_name(pb.DESCRIPTOR, "RosterService", "CreateClass")


def _term(message: pb.Class) -> str | None:
    value = message.term if message.HasField("term") else None
    return convert.optional_text(value, "term", convert.MAX_TERM)


class ClassRpcs(RpcBase):
    """The class half of the servicer."""

    async def CreateClass(  # noqa: N802 - gRPC method name
        self, request: pb.CreateClassRequest, context: grpc.aio.ServicerContext
    ) -> pb.Class:
        user = self._user(context)
        name = convert.required_name(request.school_class.name, "name")
        term = _term(request.school_class)
        request_id = idempotency.checked_request_id(request.request_id)
        class_id = uuid.uuid4()
        async with self._deps.pool.acquire() as connection:
            journal_ids = await self._create_with_tuples(
                connection, [journal.class_entry(class_id)]
            )
            async with connection.transaction():
                replay = None
                if request_id:
                    replay = await idempotency.claim(
                        connection, user, request_id, CREATE_CLASS, request, self._deps.clock()
                    )
                if replay is None:
                    row = await classes.insert(connection, class_id, user, name, term)
                    await self._tuples_written([owner_tuple(Ref(Kind.CLASS, class_id), user)])
                    reply = convert.class_message(row, pb.ACCESS_OWNER)
                    if request_id:
                        await idempotency.finish(
                            connection, user, request_id, reply.SerializeToString()
                        )
                else:
                    reply = pb.Class.FromString(replay)
            await journal.done(connection, journal_ids)
        return reply

    async def GetClass(  # noqa: N802
        self, request: pb.GetClassRequest, context: grpc.aio.ServicerContext
    ) -> pb.Class:
        user = self._user(context)
        class_id = fields.parse_uuid(request.class_id, "class_id")
        async with self._deps.pool.acquire() as connection:
            row = await classes.get(connection, class_id)
        # The owner is answered from the row; anyone else (and a missing row) as sharing says.
        access = await self._access_from_row(
            user, Kind.CLASS, class_id, row.owner_id if row else None, Permission.READ
        )
        if row is None:
            raise class_not_found()
        return convert.class_message(row, access)

    async def ListClasses(  # noqa: N802
        self, request: pb.ListClassesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClassesResponse:
        user = self._user(context)
        size = pagination.page_size(request.page_size)
        after = pagination.time_uuid_key(request.page_token, _SCOPE)
        # Owned and shared alike come from sharing: only it knows what is shared with the
        # caller. The caller's own rows are marked owner from the row itself.
        visible = await self._auth.visible(user, Kind.CLASS)
        if not visible:
            return pb.ListClassesResponse()
        async with self._deps.pool.acquire() as connection:
            rows = await classes.page(connection, list(visible), after, size + 1)
        page, next_token = pagination.time_page(rows, size, _SCOPE, lambda row: row.cursor)
        await self._auth.log_reads(
            user, Kind.CLASS, [row.id for row in page if row.owner_id != user]
        )
        return pb.ListClassesResponse(
            classes=[
                convert.class_message(
                    row, pb.ACCESS_OWNER if row.owner_id == user else visible[row.id]
                )
                for row in page
            ],
            next_page_token=next_token,
        )

    async def UpdateClass(  # noqa: N802
        self, request: pb.UpdateClassRequest, context: grpc.aio.ServicerContext
    ) -> pb.Class:
        user = self._user(context)
        class_id = fields.parse_uuid(request.school_class.id, "id")
        paths = convert.update_paths(request.update_mask.paths, classes.UPDATABLE)
        changes: dict[str, object] = {}
        if "name" in paths:
            changes["name"] = convert.required_name(request.school_class.name, "name")
        if "term" in paths:
            changes["term"] = _term(request.school_class)
        async with self._deps.pool.acquire() as connection:
            row, access = await self._as_owner_or_granted(
                user,
                Ref(Kind.CLASS, class_id),
                Permission.WRITE,
                lambda owner: classes.update(connection, class_id, changes, owner_id=owner),
            )
        if row is None:
            raise class_not_found()
        return convert.class_message(row, access)

    async def DeleteClass(  # noqa: N802
        self, request: pb.DeleteClassRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        user = self._user(context)
        class_id = fields.parse_uuid(request.class_id, "class_id")
        async with self._deps.pool.acquire() as connection:
            journal_ids, _ = await self._as_owner_or_granted(
                user,
                Ref(Kind.CLASS, class_id),
                Permission.DELETE,
                lambda owner: _delete(connection, class_id, owner_id=owner),
            )
            if journal_ids is None:
                raise class_not_found()
            # Sharing removes the class's tuples, grants, invitations and the enrollment links
            # naming it; the students themselves stay.
            await self._after_delete(connection, journal_ids, resources=[Ref(Kind.CLASS, class_id)])
        return empty_pb2.Empty()


async def _delete(
    connection: DbConnection, class_id: uuid.UUID, *, owner_id: uuid.UUID | None = None
) -> list[int] | None:
    """Deletes the class (only the owner's, with ``owner_id``) and records the tuple work in
    the same transaction; None when nothing was deleted."""
    async with connection.transaction():
        if not await classes.delete(connection, class_id, owner_id=owner_id):
            return None
        return await journal.record(connection, [journal.class_entry(class_id)])
