"""The rule table: which relation gives which permission, and how a class grant reaches students.

Everything that decides "allowed or not" reads these tables; the repository only fetches the
candidate tuples (and turns the tables into SQL parameters for the list queries).

Who may see a student
---------------------
Whoever holds an unexpired owner, editor or viewer tuple on the student itself (its owner
holds the owner tuple), or on a class the student is enrolled in: a class tuple reaches every
student enrolled in it while the enrollment lasts, as :data:`THROUGH_CLASS` says (the class
owner reaches them as an editor). Every other caller is told "not found", exactly as for a
student that does not exist. The pieces, in the order a read
meets them:

- here: :data:`PERMISSIONS` (what each relation allows), :data:`THROUGH_CLASS` and
  :func:`class_relations_for` (what a class tuple gives its students), :func:`effective`
  (the strongest unexpired candidate);
- ``sharing/tuples.py``: the candidates of a check and the lists, with the student-to-class
  step written once (``_THROUGH_CLASS``);
- ``sharing/checks.py``: Check and BatchCheck (single checks, and check groups: one user's
  checks of many resources, with :func:`effective_each`), and the access-log entry of a
  non-owner's read (``sharing/access_log.py``); ``sharing/tuple_rpcs.py`` serves them to
  roster only;
- ``sharing/invitations.py`` and ``sharing/grants.py``: how a grant tuple comes to exist and
  when it expires or is revoked;
- ``roster/owner_access.py``: roster answers a row's owner from the row itself (owners are
  never changed, and sharing would answer owner and log nothing); everyone else is asked here;
- ``roster/sharing_client.py``: roster's one client of sharing; every non-owner's read of a
  class or student asks it first, lists through ListResources; ``roster/check_batcher.py``
  lets the checks of concurrent requests share calls;
- ``roster/class_page_access.py``: a class page's checks at once, with
  ``roster/viewer_cache.py`` (the cache that decides when the student checks, which log
  views, go along with the class check) and ``roster/decision_leases.py`` (the answers a
  page may reuse while sharing's lease lasts; ``sharing/decision_leases.py`` says why a
  revocation still takes effect on the next request);
- ``roster/convert.py``: a non-owner is shown only the class ids it may see
  (``class_ids_to_filter``, ``student_messages``);
- ``roster/reconciler.py``: a crash between a row and its tuples is repaired, so a committed
  student always has its owner tuple and enrollment links.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar


class Relation(StrEnum):
    """Relations a user can hold on a resource, strongest first."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


class Permission(StrEnum):
    """What Check answers."""

    READ = "read"
    WRITE = "write"
    SHARE = "share"
    DELETE = "delete"


ENROLLED_IN = "enrolled_in"
CLASS = "class"
STUDENT = "student"
RESOURCE_TYPES = (CLASS, STUDENT)

PERMISSIONS: dict[Relation, frozenset[Permission]] = {
    Relation.OWNER: frozenset(Permission),
    Relation.EDITOR: frozenset({Permission.READ, Permission.WRITE}),
    Relation.VIEWER: frozenset({Permission.READ}),
}

_STRENGTH = {Relation.OWNER: 3, Relation.EDITOR: 2, Relation.VIEWER: 1}

# What a relation on a class gives on each student enrolled in it. Owning a class is not
# owning its students (a student may be owned by the teacher who enrolled it), so the class
# owner reaches them as an editor: reads and changes, never deletes or shares them.
THROUGH_CLASS: dict[Relation, Relation] = {
    Relation.OWNER: Relation.EDITOR,
    Relation.EDITOR: Relation.EDITOR,
    Relation.VIEWER: Relation.VIEWER,
}


def allows(relation: Relation | None, permission: Permission) -> bool:
    """Whether holding ``relation`` gives ``permission``."""
    return relation is not None and permission in PERMISSIONS[relation]


def is_active(expires_at: datetime | None, now: datetime) -> bool:
    """A grant counts until its end: at ``expires_at`` itself it no longer does."""
    return expires_at is None or expires_at > now


@dataclass(frozen=True)
class Candidate:
    """A tuple that may give the user access: held directly or through a class."""

    relation: Relation
    through_class: bool
    grant_id: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Access:
    """The user's effective access to one resource."""

    relation: Relation
    grant_id: str | None
    # The end of the tuple that gave the access (a decision lease ends by then); None for none.
    expires_at: datetime | None = field(default=None, compare=False)

    @property
    def is_owner(self) -> bool:
        return self.relation is Relation.OWNER


def effective(candidates: Iterable[Candidate], now: datetime) -> Access | None:
    """The strongest active relation among the candidates, or None."""
    best: Access | None = None
    for candidate in candidates:
        if not is_active(candidate.expires_at, now):
            continue
        relation = (
            THROUGH_CLASS[candidate.relation] if candidate.through_class else candidate.relation
        )
        if best is None or _STRENGTH[relation] > _STRENGTH[best.relation]:
            best = Access(relation, candidate.grant_id, candidate.expires_at)
    return best


# What a candidate tuple gives on the resource: (relation held, held on a class) -> relation.
_GIVES: dict[tuple[str, bool], Relation] = {
    **{(r.value, False): r for r in Relation},
    **{(r.value, True): THROUGH_CLASS[r] for r in Relation},
}

Row = TypeVar("Row", bound=Sequence[Any])


def effective_each(
    rows: Iterable[Row], count: int, now: datetime
) -> list[tuple[Relation, Row] | None]:
    """:func:`effective` of ``count`` resources at once, without a :class:`Candidate` per tuple.

    Each row is ``(index, relation, through_class, expires_at, ...)``; each index gets its
    strongest active relation and the row that gave it (the first of equals, as in
    :func:`effective`), or None.
    """
    best: list[tuple[Relation, Row] | None] = [None] * count
    for row in rows:
        if not is_active(row[3], now):
            continue
        relation = _GIVES[(row[1], row[2])]
        current = best[row[0]]
        if current is None or _STRENGTH[relation] > _STRENGTH[current[0]]:
            best[row[0]] = (relation, row)
    return best


def direct_relations_for(permission: Permission) -> list[str]:
    """Relations held on the resource itself that give the permission."""
    return [r.value for r in Relation if permission in PERMISSIONS[r]]


def class_relations_for(permission: Permission) -> list[str]:
    """Relations held on a class that give the permission on its enrolled students."""
    return [r.value for r in Relation if permission in PERMISSIONS[THROUGH_CLASS[r]]]


def strongest(relations: Iterable[Relation]) -> Relation | None:
    """The strongest of several relations, or None for none."""
    return max(relations, key=lambda r: _STRENGTH[r], default=None)
