"""A cache of sharing's allowed answers for class pages, each kept only for its decision lease.

A guardian reading the same class page again and again would ask sharing the same questions
each time. Sharing gives each allowed READ answer a lease (``lease_ms``) and promises
(``services/sharing/decision_leases.py``) that every change taking access away answers its
caller only after any lease that may predate it has run out, and that a lease never outlives
the grant's own end nor the hour in which that view is already in the owner's access log.

What this cache holds, per (user, class): the class check's answer and the answers for each
student id and each filtered class id asked on that class's pages, each with its end
``sent_at + lease``, where ``sent_at`` is this process's monotonic clock read just *before*
the call was sent (so the end comes before sharing's ``evaluation + lease``).

What it changes, and what it never changes:

- ``class_page_access.py`` answers a page from here only when the class answer and every
  student and every shown class id of this page have a live lease; otherwise it asks sharing
  exactly as without the cache, and keeps the new answers;
- only allowed answers are kept (sharing leases nothing else), so a page with a hidden class
  id or a denied student is always asked; a missing class row (``class_owner`` None) is never
  answered from here;
- the access log is unchanged: a reused answer stands only for reads within the hour whose
  view is already logged;
- owners never get here (``owner_access.py``), and other reads keep asking sharing.

It holds at most ``limit`` answers and forgets them all when full (a forgotten answer costs
one call). It lives in the roster servicer's deps (``rpc_base.Deps.decision_leases``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from trackcc.sharing.v1 import sharing_service_pb2 as pb

DEFAULT_LIMIT = 200_000

# An allowed answer: (the relation sharing found, when its lease ends on the monotonic clock).
_Held = tuple["pb.Relation.ValueType", float]


@dataclass
class _PairLeases:
    """The answers kept for one (user, class)."""

    class_answer: _Held | None = None
    students: dict[uuid.UUID, _Held] = field(default_factory=dict)
    classes: dict[uuid.UUID, _Held] = field(default_factory=dict)


@dataclass(frozen=True)
class LeasedPage:
    """A page's answers, all live: the class relation, and each student's and shown class
    id's relation (all allowed)."""

    class_relation: pb.Relation.ValueType
    students: dict[uuid.UUID, pb.Relation.ValueType]
    classes: dict[uuid.UUID, pb.Relation.ValueType]


def lease_end(sent_at: float, lease_ms: int) -> float:
    """When an answer to a call sent at ``sent_at`` (monotonic) may no longer be reused."""
    return sent_at + lease_ms / 1000


class DecisionLeases:
    """Allowed answers of class pages, per (user, class), until their leases end."""

    def __init__(
        self, limit: int = DEFAULT_LIMIT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pairs: dict[tuple[uuid.UUID, uuid.UUID], _PairLeases] = {}
        self._size = 0
        self._limit = limit
        self.clock = clock

    def page(
        self,
        user_id: uuid.UUID,
        class_id: uuid.UUID,
        student_ids: Sequence[uuid.UUID],
        shown_ids: Sequence[uuid.UUID],
    ) -> LeasedPage | None:
        """The page's answers if the class answer and every one of its ids is live, else None."""
        pair = self._pairs.get((user_id, class_id))
        if pair is None or pair.class_answer is None:
            return None
        now = self.clock()
        relation, ends = pair.class_answer
        if now >= ends:
            return None
        students = _live(pair.students, student_ids, now)
        if students is None:
            return None
        classes = _live(pair.classes, shown_ids, now)
        if classes is None:
            return None
        return LeasedPage(relation, students, classes)

    def keep_class(
        self, user_id: uuid.UUID, class_id: uuid.UUID, answer: pb.CheckResponse, sent_at: float
    ) -> None:
        """Keeps the class check's answer, if sharing leased it."""
        if answer.allowed and answer.lease_ms > 0:
            self._pair(user_id, class_id).class_answer = (
                answer.relation,
                lease_end(sent_at, answer.lease_ms),
            )

    def keep_students(
        self,
        user_id: uuid.UUID,
        class_id: uuid.UUID,
        ids: Sequence[uuid.UUID],
        answer: pb.CheckGroupResult,
        sent_at: float,
    ) -> None:
        """Keeps the leased answers of a student group asked on this class's page."""
        self._keep(user_id, class_id, ids, answer, sent_at, students=True)

    def keep_classes(
        self,
        user_id: uuid.UUID,
        class_id: uuid.UUID,
        ids: Sequence[uuid.UUID],
        answer: pb.CheckGroupResult,
        sent_at: float,
    ) -> None:
        """Keeps the leased answers of the class ids filtered on this class's page."""
        self._keep(user_id, class_id, ids, answer, sent_at, students=False)

    def _keep(
        self,
        user_id: uuid.UUID,
        class_id: uuid.UUID,
        ids: Sequence[uuid.UUID],
        answer: pb.CheckGroupResult,
        sent_at: float,
        *,
        students: bool,
    ) -> None:
        # An older sharing sends no leases: nothing to keep.
        if len(answer.lease_ms) != len(ids):
            return
        kept = [
            (i, relation, lease)
            for i, relation, allowed, lease in zip(
                ids, answer.relations, answer.allowed, answer.lease_ms, strict=True
            )
            if allowed and lease > 0
        ]
        if not kept:
            return
        pair = self._pair(user_id, class_id)
        held = pair.students if students else pair.classes
        for i, relation, lease in kept:
            if i not in held:
                self._size += 1
            held[i] = (relation, lease_end(sent_at, lease))

    def _pair(self, user_id: uuid.UUID, class_id: uuid.UUID) -> _PairLeases:
        if self._size >= self._limit:
            self._pairs.clear()  # a forgotten answer only costs one more call
            self._size = 0
        pair = self._pairs.get((user_id, class_id))
        if pair is None:
            pair = self._pairs[(user_id, class_id)] = _PairLeases()
            self._size += 1
        return pair


def _live(
    held: dict[uuid.UUID, _Held], ids: Sequence[uuid.UUID], now: float
) -> dict[uuid.UUID, pb.Relation.ValueType] | None:
    """The relations of ``ids`` if every one is held and live, else None."""
    found: dict[uuid.UUID, pb.Relation.ValueType] = {}
    for i in ids:
        answer = held.get(i)
        if answer is None or now >= answer[1]:
            return None
        found[i] = answer[0]
    return found
