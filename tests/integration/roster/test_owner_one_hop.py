"""The owner's own reads and writes are decided from roster's rows, without asking sharing;
everyone else is asked of sharing and answered exactly as before.

Sharing's own ``grpc_server_handled_total`` counts the calls (Check, BatchCheck and
ListResources), so these tests see every authorization question that reached it.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import grpc
import pytest
from PIL import Image

from tests.support.photo_uploads import upload
from tests.support.roster_service import Person, Stack, mask
from tests.support.rpc_errors import reason
from trackcc.roster.v1 import roster_service_pb2 as pb


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


async def _asks(stack: Stack, call: Callable[[], Awaitable[object]]) -> int:
    """How many authorization calls sharing handled while ``call`` ran."""
    before = await stack.sharing_calls()
    await call()
    return await stack.sharing_calls() - before


async def _download(stack: Stack, who: Person, student_id: str) -> bytes:
    data = b""
    async for part in stack.roster.DownloadPhoto(
        pb.DownloadPhotoRequest(subject=pb.PhotoSubject(student_id=student_id)),
        metadata=who.metadata,
    ):
        data += part.chunk
    return data


async def _refusal(call: Awaitable[object]) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    return refused.value.code(), str(refused.value.details()), reason(refused.value)


async def test_the_owner_reads_and_changes_a_class_and_its_students_asking_sharing_nothing(
    stack: Stack,
) -> None:
    owner = stack.person()
    me = owner.metadata
    five_a = await stack.new_class(owner, "5A")
    choir = await stack.new_class(owner, "Choir")
    kim = await stack.new_student(owner, "Kim", [five_a.id])
    lee = await stack.new_student(owner, "Lee", [five_a.id, choir.id])
    results: dict[str, object] = {}

    async def get_class() -> None:
        got = await stack.roster.GetClass(pb.GetClassRequest(class_id=five_a.id), metadata=me)
        results["class"] = (got.name, got.access, got.student_count)

    async def class_students() -> None:
        page = await stack.roster.ListClassStudents(
            pb.ListClassStudentsRequest(class_id=five_a.id), metadata=me
        )
        results["class students"] = [(s.id, s.access, list(s.class_ids)) for s in page.students]

    async def get_student() -> None:
        got = await stack.roster.GetStudent(pb.GetStudentRequest(student_id=lee.id), metadata=me)
        results["student"] = (got.access, sorted(got.class_ids))

    async def update_class() -> None:
        changed = await stack.roster.UpdateClass(
            pb.UpdateClassRequest(
                school_class=pb.Class(id=five_a.id, name="5B"), update_mask=mask("name")
            ),
            metadata=me,
        )
        results["updated class"] = (changed.name, changed.access)

    async def update_student() -> None:
        changed = await stack.roster.UpdateStudent(
            pb.UpdateStudentRequest(
                student=pb.Student(id=lee.id, notes="glasses"), update_mask=mask("notes")
            ),
            metadata=me,
        )
        results["updated student"] = (changed.notes, changed.access, sorted(changed.class_ids))

    async def create_student_in_classes() -> None:
        made = await stack.new_student(owner, "Ada", [five_a.id, choir.id])
        results["created"] = made.access

    async def unenroll() -> None:
        await stack.roster.UnenrollStudent(
            pb.UnenrollStudentRequest(class_id=choir.id, student_id=lee.id), metadata=me
        )

    async def enroll() -> None:
        await stack.enroll(owner, choir.id, kim.id)

    async def put_photo() -> None:
        await upload(stack, owner, pb.PhotoSubject(student_id=kim.id), _png(), "image/png")

    async def get_photo() -> None:
        results["photo"] = (await _download(stack, owner, kim.id))[:4]

    async def delete_photo() -> None:
        await stack.roster.DeletePhoto(
            pb.DeletePhotoRequest(subject=pb.PhotoSubject(student_id=kim.id)), metadata=me
        )

    async def delete_student() -> None:
        await stack.roster.DeleteStudent(pb.DeleteStudentRequest(student_id=kim.id), metadata=me)

    async def delete_class() -> None:
        await stack.roster.DeleteClass(pb.DeleteClassRequest(class_id=choir.id), metadata=me)

    steps = [
        get_class,
        class_students,
        get_student,
        update_class,
        update_student,
        create_student_in_classes,
        unenroll,
        enroll,
        put_photo,
        get_photo,
        delete_photo,
        delete_student,
        delete_class,
    ]
    asked = {step.__name__: await _asks(stack, step) for step in steps}
    assert asked == {step.__name__: 0 for step in steps}

    assert results["class"] == ("5A", pb.ACCESS_OWNER, 2)
    assert results["class students"] == [
        (kim.id, pb.ACCESS_OWNER, [five_a.id]),
        (lee.id, pb.ACCESS_OWNER, sorted([five_a.id, choir.id])),
    ]
    assert results["student"] == (pb.ACCESS_OWNER, sorted([five_a.id, choir.id]))
    assert results["updated class"] == ("5B", pb.ACCESS_OWNER)
    assert results["updated student"] == ("glasses", pb.ACCESS_OWNER, sorted([five_a.id, choir.id]))
    assert results["created"] == pb.ACCESS_OWNER
    assert results["photo"] == b"\x89PNG"
    # The writes happened, and sharing still holds what roster wrote (the owner tuples and the
    # enrollment links of what is left), so grants and ListResources keep working.
    left = await stack.roster.ListClassStudents(
        pb.ListClassStudentsRequest(class_id=five_a.id), metadata=me
    )
    assert {s.display_name for s in left.students} == {"Lee", "Ada"}
    assert await stack.owned_in_sharing(owner, "class") == {five_a.id}
    assert await stack.owned_in_sharing(owner, "student") == {
        lee.id,
        *(s.id for s in left.students),
    }
    assert await stack.logged_uses(owner) == []


async def test_the_owner_lists_need_one_list_call_and_no_check_per_item(stack: Stack) -> None:
    owner, colleague = stack.person(), stack.person("Colleague")
    mine = [await stack.new_class(owner, f"Class {n}") for n in range(3)]
    students = [await stack.new_student(owner, f"Pupil {n}", [mine[0].id]) for n in range(3)]
    theirs = await stack.new_class(colleague, "Shared with me")
    listed: dict[str, list[tuple[str, int]]] = {}

    async def classes() -> None:
        reply = await stack.roster.ListClasses(pb.ListClassesRequest(), metadata=owner.metadata)
        listed["classes"] = [(c.id, c.access) for c in reply.classes]

    async def all_students() -> None:
        reply = await stack.roster.ListStudents(pb.ListStudentsRequest(), metadata=owner.metadata)
        listed["students"] = [(s.id, s.access) for s in reply.students]

    # One ListResources each: what is shared with the caller only sharing knows. The owner's
    # own rows need nothing more.
    assert await _asks(stack, classes) == 1
    assert await _asks(stack, all_students) == 1
    assert listed["classes"] == [(c.id, pb.ACCESS_OWNER) for c in mine]
    assert listed["students"] == [(s.id, pb.ACCESS_OWNER) for s in students]

    # A class shared with the owner adds one batch for the whole page, which logs that read
    # (and only that one) in its owner's access log.
    await stack.grant("class", theirs.id, owner, "viewer")
    assert await _asks(stack, classes) == 2
    assert listed["classes"] == [
        *((c.id, pb.ACCESS_OWNER) for c in mine),
        (theirs.id, pb.ACCESS_VIEWER),
    ]
    assert await stack.logged_uses(owner) == [("class", theirs.id, "viewed")]


async def test_a_guardian_and_an_editor_are_still_asked_of_sharing_and_logged(
    stack: Stack,
) -> None:
    owner, guardian, co_teacher = stack.person(), stack.person("Guardian"), stack.person("Co")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, "Kim", [school_class.id])
    await stack.grant("class", school_class.id, guardian, "viewer")
    await stack.grant("class", school_class.id, co_teacher, "editor")

    async def guardian_reads_class() -> None:
        got = await stack.roster.GetClass(
            pb.GetClassRequest(class_id=school_class.id), metadata=guardian.metadata
        )
        assert got.access == pb.ACCESS_VIEWER

    async def guardian_reads_student() -> None:
        got = await stack.roster.GetStudent(
            pb.GetStudentRequest(student_id=student.id), metadata=guardian.metadata
        )
        assert got.access == pb.ACCESS_VIEWER

    async def guardian_reads_class_students() -> None:
        page = await stack.roster.ListClassStudents(
            pb.ListClassStudentsRequest(class_id=school_class.id), metadata=guardian.metadata
        )
        assert [s.access for s in page.students] == [pb.ACCESS_VIEWER]

    async def editor_changes_student() -> None:
        changed = await stack.roster.UpdateStudent(
            pb.UpdateStudentRequest(
                student=pb.Student(id=student.id, notes="n"), update_mask=mask("notes")
            ),
            metadata=co_teacher.metadata,
        )
        assert changed.access == pb.ACCESS_EDITOR

    async def editor_puts_photo() -> None:
        await upload(stack, co_teacher, pb.PhotoSubject(student_id=student.id), _png(), "image/png")

    for step in (
        guardian_reads_class,
        guardian_reads_student,
        guardian_reads_class_students,
        editor_changes_student,
        editor_puts_photo,
    ):
        assert await _asks(stack, step) >= 1, step.__name__
    assert await stack.logged_uses(guardian) == sorted(
        [("class", school_class.id, "viewed"), ("student", student.id, "viewed")]
    )
    assert ("student", student.id, "changed") in await stack.logged_uses(co_teacher)


async def test_others_get_the_answers_they_got_before_and_change_nothing(stack: Stack) -> None:
    owner, stranger, guardian = stack.person(), stack.person("Stranger"), stack.person("G")
    school_class = await stack.new_class(owner, "5A")
    student = await stack.new_student(owner, "Kim", [school_class.id])
    await stack.grant("class", school_class.id, guardian, "viewer")
    missing = str(uuid.uuid4())

    def writes(who: Person, class_id: str, student_id: str) -> list[Awaitable[object]]:
        return [
            stack.roster.UpdateClass(
                pb.UpdateClassRequest(
                    school_class=pb.Class(id=class_id, name="x"), update_mask=mask("name")
                ),
                metadata=who.metadata,
            ),
            stack.roster.DeleteClass(
                pb.DeleteClassRequest(class_id=class_id), metadata=who.metadata
            ),
            stack.roster.UpdateStudent(
                pb.UpdateStudentRequest(
                    student=pb.Student(id=student_id, notes="x"), update_mask=mask("notes")
                ),
                metadata=who.metadata,
            ),
            stack.roster.DeleteStudent(
                pb.DeleteStudentRequest(student_id=student_id), metadata=who.metadata
            ),
            stack.roster.EnrollStudent(
                pb.EnrollStudentRequest(class_id=class_id, student_id=student_id),
                metadata=who.metadata,
            ),
            stack.roster.UnenrollStudent(
                pb.UnenrollStudentRequest(class_id=class_id, student_id=student_id),
                metadata=who.metadata,
            ),
            stack.roster.DeletePhoto(
                pb.DeletePhotoRequest(subject=pb.PhotoSubject(student_id=student_id)),
                metadata=who.metadata,
            ),
            stack.roster.GetClass(pb.GetClassRequest(class_id=class_id), metadata=who.metadata),
            stack.roster.GetStudent(
                pb.GetStudentRequest(student_id=student_id), metadata=who.metadata
            ),
        ]

    not_found = [await _refusal(call) for call in writes(stranger, missing, missing)]
    hidden = [await _refusal(call) for call in writes(stranger, school_class.id, student.id)]
    # A hidden class or student answers exactly like a missing one.
    assert hidden == not_found
    assert {code for code, _, _ in hidden} == {grpc.StatusCode.NOT_FOUND}
    # A viewer may read, and every change is refused as before.
    denied = [await _refusal(call) for call in writes(guardian, school_class.id, student.id)[:7]]
    assert {(code, why) for code, _, why in denied} == {
        (grpc.StatusCode.PERMISSION_DENIED, "forbidden")
    }
    still = await stack.roster.GetStudent(
        pb.GetStudentRequest(student_id=student.id), metadata=owner.metadata
    )
    assert (still.notes, list(still.class_ids)) == ("", [school_class.id])
    assert (
        await stack.roster.GetClass(
            pb.GetClassRequest(class_id=school_class.id), metadata=owner.metadata
        )
    ).name == "5A"


async def test_no_statement_can_give_a_row_to_another_owner(stack: Stack) -> None:
    owner, other = stack.person(), stack.person("Other")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner)
    async with stack.database_connection() as connection:
        for table, row_id in (("classes", school_class.id), ("students", student.id)):
            with pytest.raises(asyncpg.RaiseError, match="owner_id never changes"):
                await connection.execute(
                    f"UPDATE {table} SET owner_id = $1 WHERE id = $2",
                    uuid.UUID(other.id),
                    uuid.UUID(row_id),
                )
    got = await stack.roster.GetClass(
        pb.GetClassRequest(class_id=school_class.id), metadata=owner.metadata
    )
    assert got.access == pb.ACCESS_OWNER
