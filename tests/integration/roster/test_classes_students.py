"""Owner CRUD, strangers, viewers and editors on classes and students (docs/api.md roster rows)."""

from __future__ import annotations

import grpc
import pytest

from tests.support.roster_service import Stack, mask
from tests.support.rpc_errors import reason
from trackcc.roster.v1 import roster_service_pb2 as pb


async def test_owner_creates_reads_lists_changes_and_deletes_a_class(stack: Stack) -> None:
    owner = stack.person()
    created = await stack.roster.CreateClass(
        pb.CreateClassRequest(school_class=pb.Class(name="  Year 5 Maths ", term="2026/27")),
        metadata=owner.metadata,
    )
    assert (created.name, created.term, created.owner_id) == ("Year 5 Maths", "2026/27", owner.id)
    assert created.access == pb.ACCESS_OWNER and created.student_count == 0

    got = await stack.roster.GetClass(
        pb.GetClassRequest(class_id=created.id), metadata=owner.metadata
    )
    assert got == created
    listed = await stack.roster.ListClasses(pb.ListClassesRequest(), metadata=owner.metadata)
    assert [c.id for c in listed.classes] == [created.id] and listed.next_page_token == ""

    changed = await stack.roster.UpdateClass(
        pb.UpdateClassRequest(
            school_class=pb.Class(id=created.id, name="Year 6"), update_mask=mask("name", "term")
        ),
        metadata=owner.metadata,
    )
    assert changed.name == "Year 6" and not changed.HasField("term")

    await stack.roster.DeleteClass(
        pb.DeleteClassRequest(class_id=created.id), metadata=owner.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await stack.roster.GetClass(
            pb.GetClassRequest(class_id=created.id), metadata=owner.metadata
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert created.id not in await stack.owned_in_sharing(owner, "class")


async def test_owner_creates_changes_and_deletes_a_student(stack: Stack) -> None:
    owner = stack.person()
    student = await stack.roster.CreateStudent(
        pb.CreateStudentRequest(
            student=pb.Student(
                display_name=" Ana R. ", birth_date="2016-04-02", gender="f", notes="peanuts"
            )
        ),
        metadata=owner.metadata,
    )
    assert (student.display_name, student.birth_date, student.notes) == (
        "Ana R.",
        "2016-04-02",
        "peanuts",
    )
    assert student.access == pb.ACCESS_OWNER and not student.has_photo

    changed = await stack.roster.UpdateStudent(
        pb.UpdateStudentRequest(
            student=pb.Student(id=student.id, display_name="A. R."),
            update_mask=mask("display_name", "notes"),
        ),
        metadata=owner.metadata,
    )
    assert changed.display_name == "A. R." and not changed.HasField("notes")
    assert changed.birth_date == "2016-04-02"

    listed = await stack.roster.ListStudents(pb.ListStudentsRequest(), metadata=owner.metadata)
    assert [s.id for s in listed.students] == [student.id]
    await stack.roster.DeleteStudent(
        pb.DeleteStudentRequest(student_id=student.id), metadata=owner.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await stack.roster.GetStudent(
            pb.GetStudentRequest(student_id=student.id), metadata=owner.metadata
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("student", "field"),
    [
        (pb.Student(display_name="   "), "display_name"),
        (pb.Student(display_name="x" * 101), "display_name"),
        (pb.Student(display_name="Ana", notes="n" * 2001), "notes"),
        (pb.Student(display_name="Ana", birth_date="2999-01-01"), "birth_date"),
        (pb.Student(display_name="Ana", birth_date="2016-02-30"), "birth_date"),
        (pb.Student(display_name="Ana", birth_date="02/04/2016"), "birth_date"),
    ],
)
async def test_invalid_students_are_refused_naming_the_field(
    stack: Stack, student: pb.Student, field: str
) -> None:
    owner = stack.person()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.roster.CreateStudent(
            pb.CreateStudentRequest(student=student), metadata=owner.metadata
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (refused.value.details() or "")


async def test_limits_hold_at_the_edges(stack: Stack) -> None:
    owner = stack.person()
    student = await stack.new_student(owner, "x" * 100)
    assert len(student.display_name) == 100
    noted = await stack.roster.CreateStudent(
        pb.CreateStudentRequest(student=pb.Student(display_name="N", notes="n" * 2000)),
        metadata=owner.metadata,
    )
    assert len(noted.notes) == 2000


async def test_a_stranger_gets_not_found_for_everything(stack: Stack) -> None:
    owner, stranger = stack.person(), stack.person("Mr Nobody")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, class_ids=[school_class.id])
    calls = [
        stack.roster.GetClass(
            pb.GetClassRequest(class_id=school_class.id), metadata=stranger.metadata
        ),
        stack.roster.UpdateClass(
            pb.UpdateClassRequest(
                school_class=pb.Class(id=school_class.id, name="mine"), update_mask=mask("name")
            ),
            metadata=stranger.metadata,
        ),
        stack.roster.DeleteClass(
            pb.DeleteClassRequest(class_id=school_class.id), metadata=stranger.metadata
        ),
        stack.roster.GetStudent(
            pb.GetStudentRequest(student_id=student.id), metadata=stranger.metadata
        ),
        stack.roster.DeleteStudent(
            pb.DeleteStudentRequest(student_id=student.id), metadata=stranger.metadata
        ),
        stack.roster.ListClassStudents(
            pb.ListClassStudentsRequest(class_id=school_class.id), metadata=stranger.metadata
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await call
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
        assert reason(hidden.value) == "not_found"
    assert not (
        await stack.roster.ListClasses(pb.ListClassesRequest(), metadata=stranger.metadata)
    ).classes
    assert not (
        await stack.roster.ListStudents(pb.ListStudentsRequest(), metadata=stranger.metadata)
    ).students


async def test_calls_without_a_token_or_from_another_service_are_refused(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await stack.roster.ListClasses(pb.ListClassesRequest())
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    owner = stack.person()
    with pytest.raises(grpc.aio.AioRpcError) as wrong_caller:
        await stack.roster_as_auth.ListClasses(pb.ListClassesRequest(), metadata=owner.metadata)
    assert wrong_caller.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_viewer_reads_and_is_denied_writes(stack: Stack) -> None:
    owner, guardian = stack.person(), stack.person("Guardian")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, class_ids=[school_class.id])
    await stack.grant("class", school_class.id, guardian, "viewer")

    seen = await stack.roster.GetClass(
        pb.GetClassRequest(class_id=school_class.id), metadata=guardian.metadata
    )
    assert seen.access == pb.ACCESS_VIEWER and seen.student_count == 1
    listed = await stack.roster.ListClasses(pb.ListClassesRequest(), metadata=guardian.metadata)
    assert [(c.id, c.access) for c in listed.classes] == [(school_class.id, pb.ACCESS_VIEWER)]
    pupil = await stack.roster.GetStudent(
        pb.GetStudentRequest(student_id=student.id), metadata=guardian.metadata
    )
    assert pupil.access == pb.ACCESS_VIEWER and list(pupil.class_ids) == [school_class.id]

    writes = [
        stack.roster.UpdateClass(
            pb.UpdateClassRequest(
                school_class=pb.Class(id=school_class.id, name="x"), update_mask=mask("name")
            ),
            metadata=guardian.metadata,
        ),
        stack.roster.DeleteClass(
            pb.DeleteClassRequest(class_id=school_class.id), metadata=guardian.metadata
        ),
        stack.roster.UpdateStudent(
            pb.UpdateStudentRequest(
                student=pb.Student(id=student.id, display_name="x"),
                update_mask=mask("display_name"),
            ),
            metadata=guardian.metadata,
        ),
        stack.roster.DeleteStudent(
            pb.DeleteStudentRequest(student_id=student.id), metadata=guardian.metadata
        ),
        stack.roster.UnenrollStudent(
            pb.UnenrollStudentRequest(class_id=school_class.id, student_id=student.id),
            metadata=guardian.metadata,
        ),
    ]
    for call in writes:
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await call
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    still = await stack.roster.GetStudent(
        pb.GetStudentRequest(student_id=student.id), metadata=owner.metadata
    )
    assert still.display_name == "Ana R." and list(still.class_ids) == [school_class.id]


async def test_an_editor_changes_students_and_enrollments_but_cannot_delete_the_class(
    stack: Stack,
) -> None:
    owner, co_teacher = stack.person(), stack.person("Co-teacher")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, class_ids=[school_class.id])
    other = await stack.new_student(owner, "Ben K.")
    await stack.grant("class", school_class.id, co_teacher, "editor")
    await stack.grant("student", other.id, co_teacher, "editor")

    renamed = await stack.roster.UpdateClass(
        pb.UpdateClassRequest(
            school_class=pb.Class(id=school_class.id, name="Year 5b"), update_mask=mask("name")
        ),
        metadata=co_teacher.metadata,
    )
    assert renamed.name == "Year 5b" and renamed.access == pb.ACCESS_EDITOR
    changed = await stack.roster.UpdateStudent(
        pb.UpdateStudentRequest(
            student=pb.Student(id=student.id, notes="glasses"), update_mask=mask("notes")
        ),
        metadata=co_teacher.metadata,
    )
    assert changed.notes == "glasses" and changed.access == pb.ACCESS_EDITOR
    await stack.enroll(co_teacher, school_class.id, other.id)
    await stack.roster.UnenrollStudent(
        pb.UnenrollStudentRequest(class_id=school_class.id, student_id=student.id),
        metadata=co_teacher.metadata,
    )
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stack.roster.DeleteClass(
            pb.DeleteClassRequest(class_id=school_class.id), metadata=co_teacher.metadata
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    roster = await stack.roster.ListClassStudents(
        pb.ListClassStudentsRequest(class_id=school_class.id), metadata=owner.metadata
    )
    assert [s.id for s in roster.students] == [other.id]


async def test_create_is_idempotent_on_request_id(stack: Stack) -> None:
    owner = stack.person()
    request = pb.CreateClassRequest(school_class=pb.Class(name="Art"), request_id="retry-1")
    first = await stack.roster.CreateClass(request, metadata=owner.metadata)
    again = await stack.roster.CreateClass(request, metadata=owner.metadata)
    assert again == first
    listed = await stack.roster.ListClasses(pb.ListClassesRequest(), metadata=owner.metadata)
    assert len(listed.classes) == 1
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stack.roster.CreateClass(
            pb.CreateClassRequest(school_class=pb.Class(name="Music"), request_id="retry-1"),
            metadata=owner.metadata,
        )
    assert reused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(reused.value) == "idempotency_key_reused"
    # Keys are scoped to the account: another teacher's same key is a new request.
    other = stack.person()
    theirs = await stack.roster.CreateClass(request, metadata=other.metadata)
    assert theirs.id != first.id

    student_request = pb.CreateStudentRequest(
        student=pb.Student(display_name="Cy"), request_id="s-1"
    )
    s1 = await stack.roster.CreateStudent(student_request, metadata=owner.metadata)
    s2 = await stack.roster.CreateStudent(student_request, metadata=owner.metadata)
    assert s1.id == s2.id
