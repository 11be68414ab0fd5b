"""The owner's own access, decided by roster from the row it has just read.

Ownership is roster's own data: ``owner_id`` on every class and student row, set when the row
is created and never changed (there is no transfer, and ``migrations/0002_owner_fixed.sql``
refuses any statement that tries; an account's rows only ever go with the account). So when
the row a request reads names the caller as its owner, roster answers ``ACCESS_OWNER`` itself
and asks sharing nothing. Sharing would have said the same: roster writes the owner tuple
before the row commits, the owner relation is the strongest, and sharing logs nothing for an
owner (``services/sharing/checks.py``), so no access-log entry is lost either.

Everyone else, and anyone asking about a row that is not there, is asked of sharing exactly
as before and gets exactly its answer: ``NOT_FOUND`` for what is hidden or missing alike,
``PERMISSION_DENIED`` for what may be seen but not changed, and the non-owner's use logged.

Where each request decides, always on its own read:

- reads of one class or student (``class_rpcs.GetClass``, ``student_rpcs.GetStudent``): the
  row read first, then :func:`access_from_row`;
- changes and deletions (``Update*``, ``Delete*``): one guarded statement changes the row only
  if the caller owns it (``classes.update``/``delete`` and ``students.update``/``delete`` with
  ``owner_id``); when it changed nothing, sharing decides and the plain statement follows
  (``RpcBase._as_owner_or_granted``);
- a page of a class's students (``class_page_access.py``): :func:`owns_page`;
- enrollments and a new student's classes (``enrollment_rpcs.py``, ``student_rpcs.py``):
  :func:`owns_all` on the owners just read;
- photos of a student (``photo_rpcs.py`` through ``RpcBase._student_access``);
- the lists (``ListClasses``, ``ListStudents``) still ask ``ListResources`` once, since only
  sharing knows what is shared with the caller; the caller's own rows are marked owner from
  the row and need no check each.

The owner tuples stay in sharing: ``ListResources`` and grants need them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping

from services.roster.sharing_client import AccessLevel, Authorizer, Permission, Ref
from services.roster.students import StudentRow
from trackcc.roster.v1 import roster_service_pb2 as pb


async def access_from_row(
    auth: Authorizer,
    user: uuid.UUID,
    ref: Ref,
    owner_id: uuid.UUID | None,
    permission: Permission,
) -> AccessLevel:
    """The caller's access to a resource whose row, just read, names ``owner_id`` (None when
    there is no row): the owner's from the row, anyone else's from sharing (which raises
    NOT_FOUND or PERMISSION_DENIED as :meth:`Authorizer.require` does)."""
    if owner_id is not None and owner_id == user:
        return pb.ACCESS_OWNER
    return await auth.require(user, ref, permission)


def owns_all(
    user: uuid.UUID, owners: Mapping[uuid.UUID, uuid.UUID], ids: Collection[uuid.UUID]
) -> bool:
    """Whether every one of ``ids`` exists and is the caller's, by the owners just read."""
    return all(owners.get(i) == user for i in ids)


def owns_page(user: uuid.UUID, class_owner: uuid.UUID | None, page: Iterable[StudentRow]) -> bool:
    """Whether the class and every student of the page are the caller's own.

    A student joins only classes of its own owner, so the class's owner owns its students;
    the rows are checked all the same, and any doubt goes to sharing."""
    return class_owner is not None and class_owner == user and all(r.owner_id == user for r in page)
