"""The roster's cache of leased answers, and the class page's use of it, as pure logic."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from services.common.errors import NotFound
from services.roster.class_page_access import class_page_access
from services.roster.decision_leases import DecisionLeases, lease_end
from services.roster.sharing_client import Ask, Authorizer, Group
from services.roster.students import StudentRow
from services.roster.viewer_cache import ViewerCache
from trackcc.roster.v1 import roster_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2 as spb

VIEWER = spb.RELATION_VIEWER


class Clock:
    """A monotonic clock that the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _group(relations: Sequence[int], leases: Sequence[int] | None) -> spb.CheckGroupResult:
    return spb.CheckGroupResult(
        relations=list(relations),  # type: ignore[arg-type]
        allowed=[r != spb.RELATION_UNSPECIFIED for r in relations],
        lease_ms=list(leases) if leases is not None else [],
    )


def _allowed(lease_ms: int, relation: int = VIEWER) -> spb.CheckResponse:
    return spb.CheckResponse(allowed=True, relation=relation, lease_ms=lease_ms)  # type: ignore[arg-type]


def test_an_answer_ends_its_lease_after_the_moment_before_it_was_sent() -> None:
    assert lease_end(10.0, 300) == pytest.approx(10.3)


def test_a_page_is_answered_only_while_the_class_and_every_id_are_leased() -> None:
    clock = Clock()
    leases = DecisionLeases(clock=clock)
    me, five_a, choir = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    kim, lee = uuid.uuid4(), uuid.uuid4()
    assert leases.page(me, five_a, [kim, lee], [choir]) is None
    sent = clock()
    clock.now += 0.05  # the answer came back a little later
    leases.keep_class(me, five_a, _allowed(300), sent)
    leases.keep_classes(me, five_a, [choir], _group([VIEWER], [300]), sent)
    # Lee's answer came without a lease: the page is asked again.
    leases.keep_students(me, five_a, [kim, lee], _group([VIEWER, VIEWER], [300, 0]), sent)
    assert leases.page(me, five_a, [kim, lee], [choir]) is None
    assert leases.page(me, five_a, [kim], [choir]) is not None
    leases.keep_students(me, five_a, [lee], _group([spb.RELATION_EDITOR], [300]), sent)
    held = leases.page(me, five_a, [kim, lee], [choir])
    assert held is not None
    assert (held.class_relation, held.students, held.classes) == (
        VIEWER,
        {kim: VIEWER, lee: spb.RELATION_EDITOR},
        {choir: VIEWER},
    )
    # Another user, another class, or a shown class id never asked: not leased.
    assert leases.page(uuid.uuid4(), five_a, [kim], [choir]) is None
    assert leases.page(me, choir, [kim], []) is None
    assert leases.page(me, five_a, [kim], [choir, uuid.uuid4()]) is None
    # The lease runs from before the call was sent, not from when the answer came.
    clock.now = sent + 0.3
    assert leases.page(me, five_a, [kim, lee], [choir]) is None


def test_denials_unleased_answers_and_an_older_sharings_answers_are_not_kept() -> None:
    clock = Clock()
    leases = DecisionLeases(clock=clock)
    me, five_a, kim = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    leases.keep_class(me, five_a, spb.CheckResponse(allowed=False, lease_ms=300), clock())
    leases.keep_students(me, five_a, [kim], _group([VIEWER], [300]), clock())
    assert leases.page(me, five_a, [kim], []) is None
    leases.keep_class(me, five_a, _allowed(0), clock())
    assert leases.page(me, five_a, [kim], []) is None
    leases.keep_class(me, five_a, _allowed(300), clock())
    assert leases.page(me, five_a, [kim], []) is not None
    other = uuid.uuid4()
    # A group answer without leases (an older sharing) or a denial keeps nothing.
    leases.keep_students(me, five_a, [other], _group([VIEWER], None), clock())
    leases.keep_students(me, five_a, [other], _group([spb.RELATION_UNSPECIFIED], [300]), clock())
    assert leases.page(me, five_a, [kim, other], []) is None


def test_when_full_it_forgets_everything() -> None:
    clock = Clock()
    leases = DecisionLeases(limit=4, clock=clock)
    me, five_a, kim = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    leases.keep_class(me, five_a, _allowed(300), clock())
    leases.keep_students(me, five_a, [kim], _group([VIEWER], [300]), clock())
    assert leases.page(me, five_a, [kim], []) is not None
    many = [uuid.uuid4() for _ in range(3)]
    leases.keep_students(me, five_a, many, _group([VIEWER] * 3, [300] * 3), clock())
    leases.keep_class(me, uuid.uuid4(), _allowed(300), clock())  # over the limit: all go
    assert leases.page(me, five_a, [kim], []) is None


class ScriptedAuthorizer(Authorizer):
    """Answers viewer to every check, leased ``lease_ms`` except the ids ``unleased``;
    counts the calls."""

    def __init__(self, lease_ms: int, unleased: set[uuid.UUID] | None = None) -> None:
        self.viewers = ViewerCache()  # as the servicer's, kept across reads
        self.calls = 0
        self.lease_ms = lease_ms
        self.unleased = unleased or set()

    async def ask_groups(
        self, user_id: uuid.UUID, asks: Sequence[Ask], groups: Sequence[Group]
    ) -> tuple[list[spb.CheckResponse], list[spb.CheckGroupResult]]:
        self.calls += 1
        return [_allowed(self.lease_ms) for _ in asks], [
            _group(
                [VIEWER] * len(group.ids),
                [0 if i in self.unleased else self.lease_ms for i in group.ids],
            )
            for group in groups
        ]


def _row(owner: uuid.UUID, classes: list[uuid.UUID]) -> StudentRow:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return StudentRow(uuid.uuid4(), owner, "Kim", None, None, None, classes, False, now, now)


async def _read(
    auth: ScriptedAuthorizer,
    leases: DecisionLeases,
    me: uuid.UUID,
    class_id: uuid.UUID,
    owner: uuid.UUID | None,
    page: list[StudentRow],
) -> dict[uuid.UUID, pb.Access.ValueType]:
    decided = await class_page_access(auth, auth.viewers, me, class_id, owner, page, leases)
    return decided.access


async def test_a_page_read_again_within_its_leases_asks_nothing_and_answers_the_same() -> None:
    clock = Clock()
    leases = DecisionLeases(clock=clock)
    me, owner, five_a = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    page = [_row(owner, [five_a]) for _ in range(3)]
    auth = ScriptedAuthorizer(300)
    first = await _read(auth, leases, me, five_a, owner, page)
    assert auth.calls == 2  # the class check, then (a viewer) the students
    assert await _read(auth, leases, me, five_a, owner, page) == first
    assert auth.calls == 2
    clock.now += 0.3  # the leases ran out: asked again, in one call now (a known viewer)
    assert await _read(auth, leases, me, five_a, owner, page) == first
    assert auth.calls == 3


async def test_a_page_with_one_student_not_leased_asks_sharing() -> None:
    clock = Clock()
    leases = DecisionLeases(clock=clock)
    me, owner, five_a = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    page = [_row(owner, [five_a]) for _ in range(3)]
    auth = ScriptedAuthorizer(300, unleased={page[1].id})
    await _read(auth, leases, me, five_a, owner, page)
    calls = auth.calls
    await _read(auth, leases, me, five_a, owner, page)
    assert auth.calls == calls + 1


async def test_a_missing_class_row_is_never_answered_from_leases() -> None:
    clock = Clock()
    leases = DecisionLeases(clock=clock)
    me, owner, five_a = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    page = [_row(owner, [five_a])]
    auth = ScriptedAuthorizer(300)
    await _read(auth, leases, me, five_a, owner, page)
    await _read(auth, leases, me, five_a, owner, page)
    calls = auth.calls
    # The class row is gone (perhaps just deleted): sharing decides, here "not found".
    auth.ask_groups = _not_found  # type: ignore[method-assign]
    with pytest.raises(NotFound):
        await _read(auth, leases, me, five_a, None, page)
    assert calls == 2


async def _not_found(
    user_id: uuid.UUID, asks: Sequence[Ask], groups: Sequence[Group]
) -> tuple[list[spb.CheckResponse], list[spb.CheckGroupResult]]:
    return [spb.CheckResponse() for _ in asks], [spb.CheckGroupResult() for _ in groups]
