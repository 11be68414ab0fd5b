"""Enrollment RPCs: the students of a class, enroll, unenroll."""

from __future__ import annotations

import uuid

import grpc
from google.protobuf import empty_pb2

from services.common import fields, pagination, reasons
from services.common.db import DbConnection
from services.common.errors import NotFound
from services.roster import convert, enrollments, journal, page_json, students
from services.roster.class_page_access import class_page_access
from services.roster.rpc_base import (
    RpcBase,
    class_not_found,
    different_owner,
    student_not_found,
)
from services.roster.sharing_client import Kind, Permission, Ref, enrollment_link
from trackcc.roster.v1 import roster_service_pb2 as pb

_SCOPE = "class_students"


class EnrollmentRpcs(RpcBase):
    """Enrollments: a student joins classes of its own owner only."""

    async def ListClassStudents(  # noqa: N802 - gRPC method name
        self, request: pb.ListClassStudentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStudentsResponse:
        user = self._user(context)
        class_id = fields.parse_uuid(request.class_id, "class_id")
        size = pagination.page_size(request.page_size)
        after = pagination.time_uuid_key(request.page_token, f"{_SCOPE}:{class_id}")
        # The page first: reading roster's own tables decides nothing, and knowing the page
        # lets every check of this request go to sharing in one round trip.
        async with self._deps.pool.acquire() as connection:
            class_owner, rows = await students.page_in_class(connection, class_id, after, size + 1)
        page, next_token = pagination.time_page(
            rows, size, f"{_SCOPE}:{class_id}", lambda row: row.cursor
        )
        decided = await class_page_access(
            self._auth,
            self._deps.viewer_cache,
            user,
            class_id,
            class_owner,
            page,
            self._deps.decision_leases,
        )
        if request.render_json_for:
            # The gateway passes these bytes through (page_json.py says why).
            return pb.ListStudentsResponse(
                items_json=page_json.student_items(
                    page, decided.access, decided.readable_classes, request.render_json_for
                ),
                next_page_token=next_token,
            )
        return pb.ListStudentsResponse(
            students=convert.student_messages(page, decided.access, decided.readable_classes),
            next_page_token=next_token,
        )

    async def _require_pair(
        self, connection: DbConnection, user: uuid.UUID, class_id: uuid.UUID, student_id: uuid.UUID
    ) -> None:
        # Enrolling changes both: who sees the student (the class's grantees) and the class.
        # The caller's own pair is decided from the rows (owner_access.py); owner_id never
        # changes, so what was read holds for the statement that follows.
        class_owner, student_owner = await enrollments.owners_of_pair(
            connection, class_id, student_id
        )
        if class_owner == user and student_owner == user:
            return
        await self._auth.require_all(
            user,
            [
                (Ref(Kind.CLASS, class_id), Permission.WRITE),
                (Ref(Kind.STUDENT, student_id), Permission.WRITE),
            ],
        )

    async def EnrollStudent(  # noqa: N802
        self, request: pb.EnrollStudentRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        user = self._user(context)
        class_id = fields.parse_uuid(request.class_id, "class_id")
        student_id = fields.parse_uuid(request.student_id, "student_id")
        async with self._deps.pool.acquire() as connection:
            await self._require_pair(connection, user, class_id, student_id)
            journal_ids = await self._create_with_tuples(
                connection, [journal.enrollment_entry(student_id, class_id)]
            )
            async with connection.transaction():
                if not await enrollments.enroll(connection, class_id, student_id):
                    class_owner, student_owner = await enrollments.owners_of_pair(
                        connection, class_id, student_id
                    )
                    if class_owner is None:
                        raise class_not_found()
                    if student_owner is None:
                        raise student_not_found()
                    raise different_owner()
                # Written again on a repeated enroll too: idempotent, and it repairs a link
                # that went missing.
                await self._tuples_written([enrollment_link(student_id, class_id)])
            await journal.done(connection, journal_ids)
        return empty_pb2.Empty()

    async def UnenrollStudent(  # noqa: N802
        self, request: pb.UnenrollStudentRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        user = self._user(context)
        class_id = fields.parse_uuid(request.class_id, "class_id")
        student_id = fields.parse_uuid(request.student_id, "student_id")
        async with self._deps.pool.acquire() as connection:
            await self._require_pair(connection, user, class_id, student_id)
            async with connection.transaction():
                if not await enrollments.unenroll(connection, class_id, student_id):
                    raise NotFound(
                        "the student is not enrolled in this class", reason=reasons.NOT_FOUND
                    )
                journal_ids = await journal.record(
                    connection, [journal.enrollment_entry(student_id, class_id)]
                )
            await self._after_delete(
                connection, journal_ids, tuples=[enrollment_link(student_id, class_id)]
            )
        return empty_pb2.Empty()
