"""The owner's short-cut as pure logic: who is answered from the row, who is asked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.common.errors import NotFound
from services.roster import owner_access
from services.roster.sharing_client import AccessLevel, Authorizer, Kind, Permission, Ref
from services.roster.students import StudentRow
from trackcc.roster.v1 import roster_service_pb2 as pb


class AskingAuthorizer(Authorizer):
    """Records every require; answers as sharing would for a stranger (not found)."""

    def __init__(self) -> None:
        self.asked: list[tuple[uuid.UUID, Ref, Permission]] = []

    async def require(self, user_id: uuid.UUID, ref: Ref, permission: Permission) -> AccessLevel:
        self.asked.append((user_id, ref, permission))
        raise NotFound("class not found", reason="not_found")


def _student(owner: uuid.UUID) -> StudentRow:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return StudentRow(uuid.uuid4(), owner, "Kim", None, None, None, [], False, now, now)


async def test_the_owner_is_answered_from_the_row_and_nobody_is_asked() -> None:
    auth, me = AskingAuthorizer(), uuid.uuid4()
    ref = Ref(Kind.CLASS, uuid.uuid4())
    for permission in Permission:
        got = await owner_access.access_from_row(auth, me, ref, me, permission)
        assert got == pb.ACCESS_OWNER
    assert auth.asked == []


@pytest.mark.parametrize("row_owner", [uuid.uuid4(), None], ids=["someone else's", "no row"])
async def test_anyone_else_and_a_missing_row_are_asked_of_sharing(
    row_owner: uuid.UUID | None,
) -> None:
    auth, me = AskingAuthorizer(), uuid.uuid4()
    ref = Ref(Kind.STUDENT, uuid.uuid4())
    with pytest.raises(NotFound):
        await owner_access.access_from_row(auth, me, ref, row_owner, Permission.WRITE)
    assert auth.asked == [(me, ref, Permission.WRITE)]


def test_a_page_is_the_owners_only_when_the_class_and_every_row_are() -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    assert owner_access.owns_page(me, me, [_student(me), _student(me)])
    assert owner_access.owns_page(me, me, [])
    assert not owner_access.owns_page(me, None, [])
    assert not owner_access.owns_page(me, other, [_student(me)])
    # Should a foreign student ever sit in the caller's class, sharing decides the page.
    assert not owner_access.owns_page(me, me, [_student(me), _student(other)])


def test_every_id_must_exist_and_be_the_callers() -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    a, b = uuid.uuid4(), uuid.uuid4()
    assert owner_access.owns_all(me, {a: me, b: me}, [a, b])
    assert not owner_access.owns_all(me, {a: me}, [a, b])
    assert not owner_access.owns_all(me, {a: me, b: other}, [a, b])
