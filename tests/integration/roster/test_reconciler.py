"""The reconciler repairs what a crash between the two steps of a tuple write left behind."""

from __future__ import annotations

import uuid

import grpc
import pytest

from services.roster.sharing_client import enrollment_link
from tests.support.roster_service import Stack
from trackcc.roster.v1 import roster_service_pb2 as pb


async def test_a_crash_after_the_owner_tuple_leaves_a_stray_tuple_that_is_removed(
    stack: Stack,
) -> None:
    owner = stack.person()
    stack.faults.after_tuple_write = True
    with pytest.raises(grpc.aio.AioRpcError) as crashed:
        await stack.new_class(owner, "Never committed")
    assert crashed.value.code() == grpc.StatusCode.INTERNAL
    assert not (
        await stack.roster.ListClasses(pb.ListClassesRequest(), metadata=owner.metadata)
    ).classes
    stray = await stack.owned_in_sharing(owner, "class")
    assert len(stray) == 1  # the tuple was written, the row was not committed

    async with stack.reconciler() as reconciler:
        assert await reconciler.run_once() == 1
        assert await reconciler.run_once() == 0
    assert await stack.owned_in_sharing(owner, "class") == set()


async def test_a_crash_after_deleting_a_class_leaves_tuples_that_are_removed(stack: Stack) -> None:
    owner, guardian = stack.person(), stack.person("Guardian")
    school_class = await stack.new_class(owner)
    await stack.grant("class", school_class.id, guardian, "viewer")
    stack.faults.tuple_delete = True
    with pytest.raises(grpc.aio.AioRpcError):
        await stack.roster.DeleteClass(
            pb.DeleteClassRequest(class_id=school_class.id), metadata=owner.metadata
        )
    assert await stack.can_read(guardian, "class", school_class.id)  # the second step never ran

    async with stack.reconciler() as reconciler:
        assert await reconciler.run_once() == 1
    assert not await stack.can_read(guardian, "class", school_class.id)
    assert school_class.id not in await stack.owned_in_sharing(owner, "class")


async def test_a_crash_after_unenrolling_leaves_a_link_that_is_removed(stack: Stack) -> None:
    owner, guardian = stack.person(), stack.person("Guardian")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, class_ids=[school_class.id])
    await stack.grant("class", school_class.id, guardian, "viewer")
    stack.faults.tuple_delete = True
    with pytest.raises(grpc.aio.AioRpcError):
        await stack.roster.UnenrollStudent(
            pb.UnenrollStudentRequest(class_id=school_class.id, student_id=student.id),
            metadata=owner.metadata,
        )
    assert await stack.can_read(guardian, "student", student.id)

    async with stack.reconciler() as reconciler:
        await reconciler.run_once()
    assert not await stack.can_read(guardian, "student", student.id)


async def test_a_crash_before_an_enrollment_commits_leaves_no_access(stack: Stack) -> None:
    owner, guardian = stack.person(), stack.person("Guardian")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner)
    await stack.grant("class", school_class.id, guardian, "viewer")
    stack.faults.after_tuple_write = True
    with pytest.raises(grpc.aio.AioRpcError):
        await stack.enroll(owner, school_class.id, student.id)
    assert await stack.can_read(guardian, "student", student.id)  # stray link

    async with stack.reconciler() as reconciler:
        await reconciler.run_once()
    assert not await stack.can_read(guardian, "student", student.id)
    got = await stack.roster.GetClass(
        pb.GetClassRequest(class_id=school_class.id), metadata=owner.metadata
    )
    assert got.student_count == 0


async def test_the_repair_pass_restores_a_missing_enrollment_link(stack: Stack) -> None:
    owner, guardian = stack.person(), stack.person("Guardian")
    school_class = await stack.new_class(owner)
    student = await stack.new_student(owner, class_ids=[school_class.id])
    await stack.grant("class", school_class.id, guardian, "viewer")
    await stack.parts.sharing.authorizer.delete_tuples(
        [enrollment_link(uuid.UUID(student.id), uuid.UUID(school_class.id))]
    )
    assert not await stack.can_read(guardian, "student", student.id)

    async with stack.reconciler() as reconciler:
        assert await reconciler.repair_all() >= 3
    assert await stack.can_read(guardian, "student", student.id)
