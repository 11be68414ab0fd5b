"""Student RPCs: create (optionally enrolled), read, list, change, delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import grpc
from google.protobuf import empty_pb2

from services.common import fields, idempotency, pagination, reasons
from services.common.db import DbConnection
from services.common.errors import NotFound
from services.roster import (
    classes,
    convert,
    enrollments,
    journal,
    owner_access,
    students,
)
from services.roster.rpc_base import RpcBase, different_owner, student_not_found
from services.roster.sharing_client import (
    Kind,
    Permission,
    Ref,
    enrollment_link,
    owner_tuple,
)
from services.roster.students import StudentRow
from trackcc.roster.v1 import roster_service_pb2 as pb

_SCOPE = "students"
# The operation an Idempotency-Key is bound to (services/common/idempotency.py).
CREATE_STUDENT = idempotency.operation_name(pb.DESCRIPTOR, "RosterService", "CreateStudent")
MAX_CLASSES_PER_STUDENT = 100


def _optional(message: pb.Student, field: str) -> str | None:
    return getattr(message, field) if message.HasField(field) else None  # type: ignore[arg-type]


class StudentRpcs(RpcBase):
    """The student half of the servicer."""

    async def _students_out(
        self,
        user: uuid.UUID,
        rows: Sequence[StudentRow],
        access: dict[uuid.UUID, pb.Access.ValueType],
    ) -> list[pb.Student]:
        """Messages for rows; a non-owner sees only the class ids of classes they may see."""
        wanted = convert.class_ids_to_filter(rows, access)
        # Checks of just the ids shown, not logged as uses (a ListResources when there are
        # many); only when some row needs them.
        seen = await self._auth.readable_ids(user, Kind.CLASS, wanted) if wanted else set()
        return convert.student_messages(rows, access, seen)

    async def CreateStudent(  # noqa: N802 - gRPC method name
        self, request: pb.CreateStudentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Student:
        user = self._user(context)
        given = request.student
        new = students.NewStudent(
            display_name=convert.required_name(given.display_name, "display_name"),
            birth_date=convert.birth_date(_optional(given, "birth_date"), self._today()),
            gender=convert.optional_text(_optional(given, "gender"), "gender", convert.MAX_GENDER),
            notes=convert.optional_text(_optional(given, "notes"), "notes", convert.MAX_NOTES),
        )
        class_ids = list(dict.fromkeys(fields.parse_uuid(c, "class_ids") for c in given.class_ids))
        if len(class_ids) > MAX_CLASSES_PER_STUDENT:
            raise fields.invalid("class_ids", f"at most {MAX_CLASSES_PER_STUDENT}")
        request_id = idempotency.checked_request_id(request.request_id)
        student_id = uuid.uuid4()
        tuples = [owner_tuple(Ref(Kind.STUDENT, student_id), user)]
        tuples += [enrollment_link(student_id, c) for c in class_ids]
        async with self._deps.pool.acquire() as connection:
            # Into the caller's own classes without asking (owner_access.py); the owner rule
            # is checked again in the transaction below either way.
            if class_ids and not owner_access.owns_all(
                user, await classes.owners(connection, class_ids), class_ids
            ):
                await self._auth.require_all(
                    user, [(Ref(Kind.CLASS, c), Permission.WRITE) for c in class_ids]
                )
            journal_ids = await self._create_with_tuples(
                connection, [journal.student_entry(student_id)]
            )
            async with connection.transaction():
                replay = None
                if request_id:
                    replay = await idempotency.claim(
                        connection, user, request_id, CREATE_STUDENT, request, self._deps.clock()
                    )
                if replay is None:
                    owners = await classes.owners(connection, class_ids)
                    if len(owners) < len(class_ids):
                        raise NotFound("class not found", reason=reasons.NOT_FOUND)
                    if any(owner != user for owner in owners.values()):
                        raise different_owner()
                    await students.insert(connection, student_id, user, new)
                    await enrollments.enroll_many(connection, class_ids, student_id)
                    await self._tuples_written(tuples)
                    row = await students.get(connection, student_id)
                    assert row is not None
                    reply = convert.student_message(row, pb.ACCESS_OWNER, None)
                    if request_id:
                        await idempotency.finish(
                            connection, user, request_id, reply.SerializeToString()
                        )
                else:
                    reply = pb.Student.FromString(replay)
            await journal.done(connection, journal_ids)
        return reply

    async def GetStudent(  # noqa: N802
        self, request: pb.GetStudentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Student:
        user = self._user(context)
        student_id = fields.parse_uuid(request.student_id, "student_id")
        async with self._deps.pool.acquire() as connection:
            row = await students.get(connection, student_id)
        # The owner is answered from the row; anyone else (and a missing row) as sharing says.
        access = await self._access_from_row(
            user, Kind.STUDENT, student_id, row.owner_id if row else None, Permission.READ
        )
        if row is None:
            raise student_not_found()
        return (await self._students_out(user, [row], {row.id: access}))[0]

    async def ListStudents(  # noqa: N802
        self, request: pb.ListStudentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStudentsResponse:
        user = self._user(context)
        size = pagination.page_size(request.page_size)
        after = pagination.time_uuid_key(request.page_token, _SCOPE)
        # Owned, shared directly and shared through a class: sharing answers all three, and
        # only it knows what is shared. The caller's own rows are marked owner from the row.
        visible = await self._auth.visible(user, Kind.STUDENT)
        if not visible:
            return pb.ListStudentsResponse()
        async with self._deps.pool.acquire() as connection:
            rows = await students.page(connection, list(visible), after, size + 1)
        page, next_token = pagination.time_page(rows, size, _SCOPE, lambda row: row.cursor)
        await self._auth.log_reads(
            user, Kind.STUDENT, [row.id for row in page if row.owner_id != user]
        )
        access = {
            row.id: pb.ACCESS_OWNER if row.owner_id == user else visible[row.id] for row in page
        }
        return pb.ListStudentsResponse(
            students=await self._students_out(user, page, access), next_page_token=next_token
        )

    async def UpdateStudent(  # noqa: N802
        self, request: pb.UpdateStudentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Student:
        user = self._user(context)
        given = request.student
        student_id = fields.parse_uuid(given.id, "id")
        paths = convert.update_paths(request.update_mask.paths, students.UPDATABLE)
        changes: dict[str, object] = {}
        if "display_name" in paths:
            changes["display_name"] = convert.required_name(given.display_name, "display_name")
        if "birth_date" in paths:
            changes["birth_date"] = convert.birth_date(
                _optional(given, "birth_date"), self._today()
            )
        if "gender" in paths:
            changes["gender"] = convert.optional_text(
                _optional(given, "gender"), "gender", convert.MAX_GENDER
            )
        if "notes" in paths:
            changes["notes"] = convert.optional_text(
                _optional(given, "notes"), "notes", convert.MAX_NOTES
            )
        async with self._deps.pool.acquire() as connection:
            row, access = await self._as_owner_or_granted(
                user,
                Ref(Kind.STUDENT, student_id),
                Permission.WRITE,
                lambda owner: students.update(connection, student_id, changes, owner_id=owner),
            )
        if row is None:
            raise student_not_found()
        return (await self._students_out(user, [row], {row.id: access}))[0]

    async def DeleteStudent(  # noqa: N802
        self, request: pb.DeleteStudentRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        user = self._user(context)
        student_id = fields.parse_uuid(request.student_id, "student_id")
        async with self._deps.pool.acquire() as connection:
            journal_ids, _ = await self._as_owner_or_granted(
                user,
                Ref(Kind.STUDENT, student_id),
                Permission.DELETE,
                lambda owner: _delete(connection, student_id, owner_id=owner),
            )
            if journal_ids is None:
                raise student_not_found()
            # Every tuple of the student, its enrollment links included, and its grants.
            await self._after_delete(
                connection, journal_ids, resources=[Ref(Kind.STUDENT, student_id)]
            )
        return empty_pb2.Empty()


async def _delete(
    connection: DbConnection, student_id: uuid.UUID, *, owner_id: uuid.UUID | None = None
) -> list[int] | None:
    """Deletes the student (only the owner's, with ``owner_id``) and records the tuple work in
    the same transaction; None when nothing was deleted. Enrollments and the photo go with
    the row (ON DELETE CASCADE)."""
    async with connection.transaction():
        if await students.delete(connection, student_id, owner_id=owner_id) is None:
            return None
        return await journal.record(connection, [journal.student_entry(student_id)])
