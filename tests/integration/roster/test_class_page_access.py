"""The students of a class as owner, class editor and class viewer: access, class ids shown,
what sharing logs, and how many calls to sharing a request makes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import grpc
import pytest

from services.roster import class_page_access, sharing_client
from tests.support.roster_service import Person, Stack
from tests.support.rpc_errors import reason
from trackcc.roster.v1 import roster_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2 as spb


@dataclass(frozen=True)
class School:
    """Kim is in 5A and the chess club, Lee in 5A and the choir; 5A has a third, Ada."""

    owner: Person
    five_a: str
    chess: str
    choir: str
    kim: str
    lee: str
    ada: str


async def _school(stack: Stack) -> School:
    owner = stack.person()
    five_a = (await stack.new_class(owner, "5A")).id
    chess = (await stack.new_class(owner, "Chess club")).id
    choir = (await stack.new_class(owner, "Choir")).id
    kim = (await stack.new_student(owner, "Kim", [five_a, chess])).id
    lee = (await stack.new_student(owner, "Lee", [five_a, choir])).id
    ada = (await stack.new_student(owner, "Ada", [five_a])).id
    return School(owner, five_a, chess, choir, kim, lee, ada)


async def _list(stack: Stack, person: Person, class_id: str) -> list[tuple[str, int, list[str]]]:
    reply = await stack.roster.ListClassStudents(
        pb.ListClassStudentsRequest(class_id=class_id), metadata=person.metadata
    )
    return [(s.id, s.access, list(s.class_ids)) for s in reply.students]


async def _calls_of_list(stack: Stack, person: Person, class_id: str) -> int:
    before = await stack.sharing_calls()
    await _list(stack, person, class_id)
    return await stack.sharing_calls() - before


def _ids(*ids: str) -> list[str]:
    return sorted(ids)  # roster lists a student's classes by id


async def _list_error(stack: Stack, person: Person, class_id: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await _list(stack, person, class_id)
    return failed.value


async def test_a_guardian_sees_viewer_and_editor_access_and_only_readable_class_ids(
    stack: Stack,
) -> None:
    school = await _school(stack)
    guardian = stack.person("Guardian")
    await stack.grant("class", school.five_a, guardian, "viewer")
    await stack.grant("class", school.choir, guardian, "viewer")
    await stack.grant("student", school.lee, guardian, "editor")
    expected = [
        (school.kim, pb.ACCESS_VIEWER, [school.five_a]),  # not the chess club
        (school.lee, pb.ACCESS_EDITOR, _ids(school.five_a, school.choir)),
        (school.ada, pb.ACCESS_VIEWER, [school.five_a]),
    ]

    first = await stack.sharing_calls()
    assert await _list(stack, guardian, school.five_a) == expected
    # The first list finds the caller a viewer only from the answer, so the student checks
    # (logged as views) follow; later lists send everything in one call.
    assert await stack.sharing_calls() - first == 2
    assert await _calls_of_list(stack, guardian, school.five_a) == 1
    assert await _list(stack, guardian, school.five_a) == expected

    # The view of the class and of each student is logged; the choir, only seen as an id on
    # Lee, and the chess club, not even shown, are not.
    assert await stack.logged_uses(guardian) == sorted(
        ("class" if rid == school.five_a else "student", rid, "viewed")
        for rid in (school.five_a, school.kim, school.lee, school.ada)
    )
    got = await stack.roster.GetStudent(
        pb.GetStudentRequest(student_id=school.lee), metadata=guardian.metadata
    )
    assert list(got.class_ids) == _ids(school.five_a, school.choir)
    assert school.choir not in {rid for _, rid, _ in await stack.logged_uses(guardian)}


async def test_with_many_class_ids_the_filter_falls_back_to_one_list_with_the_same_ids(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = await _school(stack)
    guardian = stack.person("Guardian")
    await stack.grant("class", school.five_a, guardian, "viewer")
    await stack.grant("class", school.choir, guardian, "viewer")
    monkeypatch.setattr(class_page_access, "MAX_FILTER_CHECKS", 1)
    monkeypatch.setattr(sharing_client, "MAX_FILTER_CHECKS", 1)
    for _ in range(2):
        assert await _list(stack, guardian, school.five_a) == [
            (school.kim, pb.ACCESS_VIEWER, [school.five_a]),
            (school.lee, pb.ACCESS_VIEWER, _ids(school.five_a, school.choir)),
            (school.ada, pb.ACCESS_VIEWER, [school.five_a]),
        ]
    assert school.choir not in {rid for _, rid, _ in await stack.logged_uses(guardian)}


async def test_owner_asks_sharing_nothing_and_a_class_editor_logs_its_views(
    stack: Stack,
) -> None:
    school = await _school(stack)
    colleague = stack.person("Colleague")
    await stack.grant("class", school.five_a, colleague, "editor")

    assert await _list(stack, school.owner, school.five_a) == [
        (school.kim, pb.ACCESS_OWNER, _ids(school.five_a, school.chess)),
        (school.lee, pb.ACCESS_OWNER, _ids(school.five_a, school.choir)),
        (school.ada, pb.ACCESS_OWNER, [school.five_a]),
    ]
    # The class's owner is decided from roster's rows (services/roster/owner_access.py).
    assert await _calls_of_list(stack, school.owner, school.five_a) == 0
    assert await stack.logged_uses(school.owner) == []

    for _ in range(2):
        assert await _list(stack, colleague, school.five_a) == [
            (school.kim, pb.ACCESS_EDITOR, [school.five_a]),
            (school.lee, pb.ACCESS_EDITOR, [school.five_a]),
            (school.ada, pb.ACCESS_EDITOR, [school.five_a]),
        ]
    # An editor is not the owner: once the class check says editor, the page's student
    # views are logged in a second batch (docs/api.md: every read by a non-owner is logged).
    assert await _calls_of_list(stack, colleague, school.five_a) == 2
    assert set(await stack.logged_uses(colleague)) == {
        ("class", school.five_a, "viewed"),
        *(("student", student, "viewed") for student in (school.kim, school.lee, school.ada)),
    }


async def test_an_unseen_class_answers_not_found_like_a_missing_one_and_logs_nothing(
    stack: Stack,
) -> None:
    school = await _school(stack)
    stranger, aunt = stack.person("Stranger"), stack.person("Aunt")
    # A grant on one student of the class is no grant on the class.
    await stack.grant("student", school.kim, aunt, "viewer")
    missing = await _list_error(stack, stranger, str(uuid.uuid4()))
    assert missing.code() == grpc.StatusCode.NOT_FOUND and reason(missing) == "not_found"
    for person in (stranger, aunt):
        hidden = await _list_error(stack, person, school.five_a)
        assert (hidden.code(), hidden.details(), reason(hidden)) == (
            missing.code(),
            missing.details(),
            "not_found",
        )
    assert await stack.logged_uses(stranger) == [] and await stack.logged_uses(aunt) == []


async def test_a_viewer_whose_grant_ends_gets_not_found_on_the_next_list(stack: Stack) -> None:
    school = await _school(stack)
    guardian = stack.person("Guardian")
    await stack.grant("class", school.five_a, guardian, "viewer")
    await _list(stack, guardian, school.five_a)
    await stack.sharing.DeleteTuples(
        spb.DeleteTuplesRequest(
            tuples=[
                spb.Tuple(
                    resource=spb.Resource(type=spb.RESOURCE_TYPE_CLASS, id=school.five_a),
                    relation=spb.RELATION_VIEWER,
                    subject_id=guardian.id,
                )
            ]
        )
    )
    for _ in range(2):
        gone = await _list_error(stack, guardian, school.five_a)
        assert gone.code() == grpc.StatusCode.NOT_FOUND and reason(gone) == "not_found"
