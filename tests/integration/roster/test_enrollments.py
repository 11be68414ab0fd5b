"""Enrollments: inheritance through class grants, the owner rule, and what deletion leaves."""

from __future__ import annotations

import io

import grpc
import pytest
from PIL import Image

from tests.support.photo_uploads import upload
from tests.support.roster_service import Stack
from tests.support.rpc_errors import reason
from trackcc.roster.v1 import roster_service_pb2 as pb


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_a_class_grant_reaches_enrolled_students_and_stops_on_unenroll(stack: Stack) -> None:
    owner, guardian = stack.person(), stack.person("Guardian")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner)
    await stack.grant("class", school_class.id, guardian, "viewer")
    with pytest.raises(grpc.aio.AioRpcError) as before:
        await stack.roster.GetStudent(
            pb.GetStudentRequest(student_id=student.id), metadata=guardian.metadata
        )
    assert before.value.code() == grpc.StatusCode.NOT_FOUND

    await stack.enroll(owner, school_class.id, student.id)
    seen = await stack.roster.GetStudent(
        pb.GetStudentRequest(student_id=student.id), metadata=guardian.metadata
    )
    assert seen.access == pb.ACCESS_VIEWER
    listed = await stack.roster.ListStudents(pb.ListStudentsRequest(), metadata=guardian.metadata)
    assert [s.id for s in listed.students] == [student.id]
    in_class = await stack.roster.ListClassStudents(
        pb.ListClassStudentsRequest(class_id=school_class.id), metadata=guardian.metadata
    )
    assert [(s.id, s.access) for s in in_class.students] == [(student.id, pb.ACCESS_VIEWER)]

    await stack.roster.UnenrollStudent(
        pb.UnenrollStudentRequest(class_id=school_class.id, student_id=student.id),
        metadata=owner.metadata,
    )
    with pytest.raises(grpc.aio.AioRpcError) as after:
        await stack.roster.GetStudent(
            pb.GetStudentRequest(student_id=student.id), metadata=guardian.metadata
        )
    assert after.value.code() == grpc.StatusCode.NOT_FOUND
    assert not (
        await stack.roster.ListStudents(pb.ListStudentsRequest(), metadata=guardian.metadata)
    ).students


async def test_enroll_is_idempotent_and_counts(stack: Stack) -> None:
    owner = stack.person()
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner)
    await stack.enroll(owner, school_class.id, student.id)
    await stack.enroll(owner, school_class.id, student.id)
    got = await stack.roster.GetClass(
        pb.GetClassRequest(class_id=school_class.id), metadata=owner.metadata
    )
    assert got.student_count == 1
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stack.roster.UnenrollStudent(
            pb.UnenrollStudentRequest(
                class_id=school_class.id, student_id=(await stack.new_student(owner)).id
            ),
            metadata=owner.metadata,
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_student_cannot_join_another_owners_class(stack: Stack) -> None:
    owner, colleague = stack.person(), stack.person("Colleague")
    their_class = await stack.new_class(colleague)
    mine = await stack.new_student(owner)
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await stack.enroll(owner, their_class.id, mine.id)
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    # Even as an editor of the colleague's class.
    await stack.grant("class", their_class.id, owner, "editor")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.enroll(owner, their_class.id, mine.id)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(refused.value) == "different_owner"
    with pytest.raises(grpc.aio.AioRpcError) as on_create:
        await stack.new_student(owner, "Dee", class_ids=[their_class.id])
    assert reason(on_create.value) == "different_owner"
    assert not (
        await stack.roster.ListClassStudents(
            pb.ListClassStudentsRequest(class_id=their_class.id), metadata=colleague.metadata
        )
    ).students


async def test_create_student_with_classes_enrolls_it(stack: Stack) -> None:
    owner = stack.person()
    a, b = await stack.new_class(owner, "A"), await stack.new_class(owner, "B")
    student = await stack.new_student(owner, class_ids=[a.id, b.id, a.id])
    assert sorted(student.class_ids) == sorted([a.id, b.id])
    for school_class in (a, b):
        got = await stack.roster.GetClass(
            pb.GetClassRequest(class_id=school_class.id), metadata=owner.metadata
        )
        assert got.student_count == 1


async def test_deleting_a_class_leaves_its_students_and_ends_its_grants(stack: Stack) -> None:
    owner, guardian = stack.person(), stack.person("Guardian")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, class_ids=[school_class.id])
    await stack.grant("class", school_class.id, guardian, "viewer")
    await stack.roster.DeleteClass(
        pb.DeleteClassRequest(class_id=school_class.id), metadata=owner.metadata
    )

    kept = await stack.roster.GetStudent(
        pb.GetStudentRequest(student_id=student.id), metadata=owner.metadata
    )
    assert list(kept.class_ids) == []
    assert not await stack.can_read(guardian, "student", student.id)
    assert not await stack.can_read(guardian, "class", school_class.id)


async def test_deleting_a_student_removes_it_from_classes_with_its_photo(stack: Stack) -> None:
    owner = stack.person()
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, class_ids=[school_class.id])
    await upload(stack, owner, pb.PhotoSubject(student_id=student.id), _png(), "image/png")
    await stack.roster.DeleteStudent(
        pb.DeleteStudentRequest(student_id=student.id), metadata=owner.metadata
    )

    got = await stack.roster.GetClass(
        pb.GetClassRequest(class_id=school_class.id), metadata=owner.metadata
    )
    assert got.student_count == 0
    async with stack.database_connection() as connection:
        assert await connection.fetchval("SELECT count(*) FROM photos") == 0
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        async for _ in stack.roster.DownloadPhoto(
            pb.DownloadPhotoRequest(subject=pb.PhotoSubject(student_id=student.id)),
            metadata=owner.metadata,
        ):
            pass
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert student.id not in await stack.owned_in_sharing(owner, "student")
