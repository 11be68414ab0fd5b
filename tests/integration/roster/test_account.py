"""Export of everything an account owns, and the purge that only auth may ask for."""

from __future__ import annotations

import io

import grpc
import pytest
from PIL import Image

from tests.support.photo_uploads import upload
from tests.support.roster_service import Stack
from tests.support.rpc_errors import reason
from trackcc.roster.v1 import roster_service_pb2 as pb


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_export_holds_classes_students_enrollments_and_photos(stack: Stack) -> None:
    owner, other = stack.person(), stack.person()
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, class_ids=[school_class.id])
    await stack.new_class(other, "Not mine")
    shared = await stack.new_student(other, "Shared with me")
    await stack.grant("student", shared.id, owner, "editor")
    await upload(stack, owner, pb.PhotoSubject(student_id=student.id), _jpeg())
    await upload(stack, owner, pb.PhotoSubject(caller_account=True), _jpeg())

    export = await stack.roster.ExportUserData(pb.ExportUserDataRequest(), metadata=owner.metadata)
    assert [c.id for c in export.classes] == [school_class.id]
    assert [(s.id, list(s.class_ids)) for s in export.students] == [(student.id, [school_class.id])]
    assert set(export.photos) == {student.id, "me"}
    assert Image.open(io.BytesIO(export.photos[student.id])).format == "JPEG"


async def test_purge_is_only_for_auth_and_is_idempotent(stack: Stack) -> None:
    owner, guardian = stack.person(), stack.person("Guardian")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, class_ids=[school_class.id])
    await stack.new_student(owner, "Second")
    await upload(stack, owner, pb.PhotoSubject(caller_account=True), _jpeg())
    await stack.grant("class", school_class.id, guardian, "viewer")

    with pytest.raises(grpc.aio.AioRpcError) as not_auth:
        await stack.roster.PurgeUser(pb.PurgeUserRequest(user_id=owner.id), metadata=owner.metadata)
    assert not_auth.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(not_auth.value) == "caller_not_allowed"

    purged = await stack.roster_as_auth.PurgeUser(pb.PurgeUserRequest(user_id=owner.id))
    assert (purged.classes_deleted, purged.students_deleted) == (1, 2)
    again = await stack.roster_as_auth.PurgeUser(pb.PurgeUserRequest(user_id=owner.id))
    assert (again.classes_deleted, again.students_deleted) == (0, 0)

    assert await stack.owned_in_sharing(owner, "class") == set()
    assert await stack.owned_in_sharing(owner, "student") == set()
    assert not await stack.can_read(guardian, "student", student.id)
    async with stack.database_connection() as connection:
        for table in ("classes", "students", "enrollments", "photos", "tuple_journal"):
            assert await connection.fetchval(f"SELECT count(*) FROM {table}") == 0, table
