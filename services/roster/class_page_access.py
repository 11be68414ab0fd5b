"""The caller's access to a page of a class's students, asked of sharing in one round trip.

The page is read first, from roster's own tables. The class's owner gets its page from those
rows alone (``owner_access.py``); for anyone else the class check, the page's student checks
and the checks of the other class ids the page shows go to sharing together, the students and
the class ids each as one check group (``sharing_client.Group``). The class
check alone decides NOT_FOUND or PERMISSION_DENIED, so nothing read is returned unless it
allows, and an unseen class answers exactly like a missing one.

Which checks may go along depends on the caller's access to the class, which only the answer
tells. Student checks log each allowed view in the owner's access log (docs/api.md: every read by
a non-owner appears there, lists included): they go along with the class check for a caller
whose last class check in this process answered viewer (``viewer_cache.py``, which says what
that memory does to the access log), and an editor's page logs its views
in a second batch once its class check answered editor. Every decision is made on this request's own
answers; a wrong guess costs a second round trip, or (when a viewer became an editor since)
views logged that an editor's list would not log.

A page whose class answer and every student and shown class id sharing leased recently is
answered from those answers (``decision_leases.py``, which says what that does and does not
change); the leases never serve a page whose class row is missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.roster import convert, owner_access
from services.roster.decision_leases import DecisionLeases, LeasedPage
from services.roster.sharing_client import (
    ACCESS_OF_RELATION,
    MAX_FILTER_CHECKS,
    Ask,
    Authorizer,
    Group,
    Kind,
    Permission,
    Ref,
    decide,
    readable_in,
)
from services.roster.students import StudentRow
from services.roster.viewer_cache import ViewerCache
from trackcc.roster.v1 import roster_service_pb2 as pb
from trackcc.sharing.v1 import sharing_service_pb2 as pb_sharing


@dataclass(frozen=True)
class PageAccess:
    """The caller's access to each student of the page, and the class ids it may be shown."""

    access: dict[uuid.UUID, pb.Access.ValueType]
    readable_classes: set[uuid.UUID]


async def class_page_access(
    auth: Authorizer,
    viewers: ViewerCache,
    user: uuid.UUID,
    class_id: uuid.UUID,
    class_owner: uuid.UUID | None,
    page: Sequence[StudentRow],
    leases: DecisionLeases | None = None,
) -> PageAccess:
    """Raises NOT_FOUND or PERMISSION_DENIED as the class check of a read decides.

    ``class_owner`` is the class's owner as just read (None when not read): the owner's own
    page is decided from the rows, without sharing (``owner_access.py``). With ``leases``, a
    page whose every answer sharing leased recently is answered from them
    (``decision_leases.py``)."""
    if owner_access.owns_page(user, class_owner, page):
        return PageAccess({row.id: pb.ACCESS_OWNER for row in page}, set())
    class_ref = Ref(Kind.CLASS, class_id)
    # The page's students go as one check group: sharing's compact form, no message per id.
    students = Group(Kind.STUDENT, [row.id for row in page])
    # A student joins only classes of its own owner, so the page names the class's owner,
    # whose rows need neither student checks nor a class-id filter.
    owner_likely = not page or page[0].owner_id == user
    shown = sorted({c for row in page for c in row.class_ids} - {class_id})
    # Not logged, and discarded if the class check fails: they only filter the ids shown.
    filter_now = not owner_likely and len(shown) <= MAX_FILTER_CHECKS
    # A missing class row may be a class just deleted: never answered from leases.
    kept = leases if leases is not None and class_owner is not None and filter_now else None
    if kept is not None:
        held = kept.page(user, class_id, students.ids, shown)
        if held is not None:
            return _from_leases(class_id, page, held)
    students_now = not owner_likely and viewers.is_viewer(user, class_id)
    shown_group = Group(Kind.CLASS, shown if filter_now else [], log_use=False)
    sent_at = kept.clock() if kept is not None else 0.0
    [class_answer], [student_answer, shown_answer] = await auth.ask_groups(
        user, [Ask(class_ref)], [students if students_now else Group(Kind.STUDENT, []), shown_group]
    )
    if kept is not None:
        kept.keep_class(user, class_id, class_answer, sent_at)
        kept.keep_classes(user, class_id, shown, shown_answer, sent_at)
        if students_now:
            kept.keep_students(user, class_id, students.ids, student_answer, sent_at)
    viewers.remember(
        user,
        class_id,
        class_answer.allowed and ACCESS_OF_RELATION.get(class_answer.relation) == pb.ACCESS_VIEWER,
    )
    [class_access] = decide([(class_ref, Permission.READ)], [class_answer])

    async def ask_students() -> pb_sharing.CheckGroupResult:
        # The page's student group on its own; its answers are leased like the others.
        sent_at = kept.clock() if kept is not None else 0.0
        _, [answer] = await auth.ask_groups(user, [], [students])
        if kept is not None:
            kept.keep_students(user, class_id, students.ids, answer, sent_at)
        return answer

    if class_access == pb.ACCESS_VIEWER and page:
        # A class viewer may hold a stronger grant on some students: ask for the whole
        # page in one group. Owners and editors of the class need no call (a student is
        # owned by its class's owner, and editor is the most a grant gives).
        if not students_now:
            student_answer = await ask_students()
        found = readable_in(students, student_answer)
        access = {row.id: found.get(row.id, pb.ACCESS_VIEWER) for row in page}
    else:
        access = {row.id: class_access for row in page}
        if class_access == pb.ACCESS_EDITOR and page:
            # An editor is not the owner: its list reads are logged like a viewer's (asking
            # the group logs them, as Authorizer.log_reads does).
            await ask_students()

    wanted = convert.class_ids_to_filter(page, access)
    if not wanted:
        seen: set[uuid.UUID] = set()
    elif filter_now:
        # The class itself may be read: its check just allowed it.
        seen = {class_id, *readable_in(shown_group, shown_answer)}
    else:
        seen = await auth.readable_ids(user, Kind.CLASS, wanted)
    return PageAccess(access, seen)


def _from_leases(class_id: uuid.UUID, page: Sequence[StudentRow], held: LeasedPage) -> PageAccess:
    """The page as the leased answers decide it, exactly as the asking path above would: every
    leased answer allows a read (sharing leases nothing else)."""
    class_access = ACCESS_OF_RELATION[held.class_relation]
    if class_access == pb.ACCESS_VIEWER:
        access = {
            row.id: ACCESS_OF_RELATION.get(held.students[row.id], pb.ACCESS_VIEWER) for row in page
        }
    else:
        access = {row.id: class_access for row in page}
    wanted = convert.class_ids_to_filter(page, access)
    seen: set[uuid.UUID] = set()
    if wanted:
        seen = {class_id, *(c for c, r in held.classes.items() if r in ACCESS_OF_RELATION)}
    return PageAccess(access, seen)
