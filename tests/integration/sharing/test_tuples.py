"""Relation tuples written as roster; Check and the lists; who may call what."""

from __future__ import annotations

import uuid

import grpc
import pytest

from tests.support.rpc_errors import reason
from tests.support.sharing_service import DELETE, READ, SHARE, WRITE, Sharing, resource_of, tuple_of
from trackcc.sharing.v1 import sharing_service_pb2 as pb


async def test_owner_tuple_gives_every_permission_and_nobody_else_any(sharing: Sharing) -> None:
    owner, stranger = sharing.person("t@school.test"), sharing.person("x@else.test")
    student = await sharing.own(owner)
    for permission in (READ, WRITE, SHARE, DELETE):
        assert await sharing.check(owner, student, permission)
        assert not await sharing.check(stranger, student, permission)
    reply = await sharing.roster.Check(
        pb.CheckRequest(user_id=owner.id, resource=student, permission=READ)
    )
    assert reply.relation == pb.RELATION_OWNER


async def test_writes_and_deletes_are_idempotent(sharing: Sharing) -> None:
    owner = sharing.person("t@school.test")
    student = await sharing.own(owner)
    again = pb.WriteTuplesRequest(tuples=[tuple_of(student, pb.RELATION_OWNER, owner.id)])
    await sharing.roster.WriteTuples(again)
    await sharing.roster.WriteTuples(again)
    gone = pb.DeleteTuplesRequest(tuples=[tuple_of(student, pb.RELATION_OWNER, owner.id)])
    await sharing.roster.DeleteTuples(gone)
    await sharing.roster.DeleteTuples(gone)
    assert not await sharing.check(owner, student, READ)


async def test_list_resources_pages_by_id_with_the_relation(sharing: Sharing) -> None:
    owner, reader = sharing.person("t@school.test"), sharing.person("r@home.test")
    students = [await sharing.own(owner) for _ in range(3)]
    await sharing.roster.WriteTuples(
        pb.WriteTuplesRequest(tuples=[tuple_of(students[0], pb.RELATION_VIEWER, reader.id)])
    )
    seen: list[str] = []
    token = ""
    while True:
        page = await sharing.roster.ListResources(
            pb.ListResourcesRequest(
                user_id=owner.id,
                resource_type=pb.RESOURCE_TYPE_STUDENT,
                permission=WRITE,
                page_size=2,
                page_token=token,
            )
        )
        assert all(r.relation == pb.RELATION_OWNER for r in page.resources)
        seen += [r.resource_id for r in page.resources]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(s.id for s in students)
    readable = await sharing.roster.ListResources(
        pb.ListResourcesRequest(
            user_id=reader.id, resource_type=pb.RESOURCE_TYPE_STUDENT, permission=READ
        )
    )
    assert [(r.resource_id, r.relation) for r in readable.resources] == [
        (students[0].id, pb.RELATION_VIEWER)
    ]
    writable = await sharing.roster.ListResources(
        pb.ListResourcesRequest(
            user_id=reader.id, resource_type=pb.RESOURCE_TYPE_STUDENT, permission=WRITE
        )
    )
    assert list(writable.resources) == []


async def test_a_class_grant_reaches_enrolled_students_until_unenrolled(sharing: Sharing) -> None:
    teacher, guardian = sharing.person("t@school.test"), sharing.person("g@home.test")
    school_class = await sharing.own(teacher, "class")
    student = await sharing.own(teacher)
    link = tuple_of(student, pb.RELATION_ENROLLED_IN, school_class.id)
    await sharing.roster.WriteTuples(
        pb.WriteTuplesRequest(
            tuples=[link, tuple_of(school_class, pb.RELATION_VIEWER, guardian.id)]
        )
    )
    assert await sharing.check(guardian, student, READ)
    assert not await sharing.check(guardian, student, WRITE)
    listed = await sharing.roster.ListResources(
        pb.ListResourcesRequest(
            user_id=guardian.id, resource_type=pb.RESOURCE_TYPE_STUDENT, permission=READ
        )
    )
    assert [r.resource_id for r in listed.resources] == [student.id]

    await sharing.roster.DeleteTuples(pb.DeleteTuplesRequest(tuples=[link]))
    assert not await sharing.check(guardian, student, READ)
    assert await sharing.check(guardian, school_class, READ)


async def test_list_subjects_shows_who_holds_what(sharing: Sharing) -> None:
    owner, viewer = sharing.person("t@school.test"), sharing.person("v@home.test")
    student = await sharing.own(owner)
    await sharing.roster.WriteTuples(
        pb.WriteTuplesRequest(tuples=[tuple_of(student, pb.RELATION_VIEWER, viewer.id)])
    )
    first = await sharing.roster.ListSubjects(pb.ListSubjectsRequest(resource=student, page_size=1))
    second = await sharing.roster.ListSubjects(
        pb.ListSubjectsRequest(resource=student, page_size=1, page_token=first.next_page_token)
    )
    assert {(t.relation, t.subject_id) for t in [*first.tuples, *second.tuples]} == {
        (pb.RELATION_OWNER, owner.id),
        (pb.RELATION_VIEWER, viewer.id),
    }
    assert second.next_page_token == ""


@pytest.mark.parametrize("caller", ["gateway", "auth"])
async def test_only_roster_writes_tuples_and_asks_questions(sharing: Sharing, caller: str) -> None:
    stub = getattr(sharing, caller)
    student = resource_of("student", str(uuid.uuid4()))
    user = str(uuid.uuid4())
    calls = [
        stub.WriteTuples(
            pb.WriteTuplesRequest(tuples=[tuple_of(student, pb.RELATION_OWNER, user)])
        ),
        stub.DeleteTuples(pb.DeleteTuplesRequest(resources=[student])),
        stub.Check(pb.CheckRequest(user_id=user, resource=student, permission=READ)),
        stub.ListResources(
            pb.ListResourcesRequest(
                user_id=user, resource_type=pb.RESOURCE_TYPE_STUDENT, permission=READ
            )
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await call
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason(denied.value) == "caller_not_allowed"
    owner = sharing.person("t@school.test")
    assert not await sharing.check(owner, student, READ)


async def test_malformed_tuples_are_invalid_arguments(sharing: Sharing) -> None:
    school_class = resource_of("class", str(uuid.uuid4()))
    for bad in (
        tuple_of(school_class, pb.RELATION_ENROLLED_IN, str(uuid.uuid4())),
        tuple_of(resource_of("student", "not-a-uuid"), pb.RELATION_OWNER, str(uuid.uuid4())),
        tuple_of(school_class, pb.RELATION_OWNER, "nobody"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await sharing.roster.WriteTuples(pb.WriteTuplesRequest(tuples=[bad]))
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_batch_check_answers_like_one_check_each_across_users_and_classes(
    sharing: Sharing,
) -> None:
    owner, reader, other = (
        sharing.person("t@school.test"),
        sharing.person("r@home.test"),
        sharing.person("o@home.test"),
    )
    school_class = await sharing.own(owner, "class")
    direct, through_class, unrelated = [await sharing.own(owner) for _ in range(3)]
    await sharing.roster.WriteTuples(
        pb.WriteTuplesRequest(
            tuples=[
                tuple_of(direct, pb.RELATION_EDITOR, reader.id),
                tuple_of(through_class, pb.RELATION_ENROLLED_IN, school_class.id),
                tuple_of(school_class, pb.RELATION_VIEWER, reader.id),
                tuple_of(unrelated, pb.RELATION_VIEWER, other.id),
            ]
        )
    )
    asks = [
        (reader, resource, permission)
        for resource in (direct, through_class, unrelated, school_class)
        for permission in (READ, WRITE, SHARE)
    ] + [(other, unrelated, READ), (owner, through_class, DELETE)]
    batch = await sharing.roster.BatchCheck(
        pb.BatchCheckRequest(
            checks=[
                pb.CheckRequest(user_id=who.id, resource=resource, permission=permission)
                for who, resource, permission in asks
            ]
        )
    )
    one_by_one = [
        await sharing.roster.Check(
            pb.CheckRequest(user_id=who.id, resource=resource, permission=permission)
        )
        for who, resource, permission in asks
    ]
    assert [(r.allowed, r.relation) for r in batch.results] == [
        (r.allowed, r.relation) for r in one_by_one
    ]
    # And the answers themselves: an editor grant, a class viewer grant reaching the student.
    assert [r.allowed for r in batch.results[:6]] == [True, True, False, True, False, False]
    assert batch.results[-1].allowed and batch.results[-2].allowed
