"""What concerns a whole account: the export of everything it owns, and the purge."""

from __future__ import annotations

import grpc

from services.common import fields
from services.common.callers import AUTH, require_caller
from services.roster import classes, convert, journal, photo_store, students
from services.roster.rpc_base import RpcBase
from services.roster.sharing_client import Kind, Ref
from trackcc.roster.v1 import roster_service_pb2 as pb

# Photos travel inside the export message up to this much; gRPC messages are capped at 8 MiB
# (services/common/grpc_server.py). Students whose photo did not fit still say has_photo, and
# the gateway exports those as links.
EXPORT_PHOTO_BUDGET = 6 * 1024 * 1024


class AccountRpcs(RpcBase):
    """Export for the account itself, purge for auth."""

    async def ExportUserData(  # noqa: N802 - gRPC method name
        self, request: pb.ExportUserDataRequest, context: grpc.aio.ServicerContext
    ) -> pb.UserDataExport:
        user = self._user(context)
        async with self._deps.pool.acquire() as connection:
            owned_classes = await classes.owned(connection, user)
            owned_students = await students.owned(connection, user)
            photos = await photo_store.for_export(connection, user, EXPORT_PHOTO_BUDGET)
        return pb.UserDataExport(
            classes=[convert.class_message(row, pb.ACCESS_OWNER) for row in owned_classes],
            students=[
                convert.student_message(row, pb.ACCESS_OWNER, None) for row in owned_students
            ],
            photos=photos,
        )

    async def PurgeUser(  # noqa: N802
        self, request: pb.PurgeUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.PurgeUserResponse:
        # Only auth deletes accounts; the user id here comes from auth, not from a token.
        require_caller(context, AUTH)
        user_id = fields.parse_uuid(request.user_id, "user_id")
        async with self._deps.pool.acquire() as connection:
            async with connection.transaction():
                class_ids = await classes.delete_owned(connection, user_id)
                student_ids = await students.delete_owned(connection, user_id)
                await photo_store.delete_account_photo(connection, user_id)
                journal_ids = await journal.record(
                    connection,
                    [journal.class_entry(c) for c in class_ids]
                    + [journal.student_entry(s) for s in student_ids],
                )
            await self._after_delete(
                connection,
                journal_ids,
                resources=[Ref(Kind.CLASS, c) for c in class_ids]
                + [Ref(Kind.STUDENT, s) for s in student_ids],
            )
        return pb.PurgeUserResponse(
            classes_deleted=len(class_ids), students_deleted=len(student_ids)
        )
