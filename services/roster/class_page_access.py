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
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.roster import convert, owner_access
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
) -> PageAccess:
    """Raises NOT_FOUND or PERMISSION_DENIED as the class check of a read decides.

    ``class_owner`` is the class's owner as just read (None when not read): the owner's own
    page is decided from the rows, without sharing (``owner_access.py``)."""
    if owner_access.owns_page(user, class_owner, page):
        return PageAccess({row.id: pb.ACCESS_OWNER for row in page}, set())
    class_ref = Ref(Kind.CLASS, class_id)
    # The page's students go as one check group: sharing's compact form, no message per id.
    students = Group(Kind.STUDENT, [row.id for row in page])
    # A student joins only classes of its own owner, so the page names the class's owner,
    # whose rows need neither student checks nor a class-id filter.
    owner_likely = not page or page[0].owner_id == user
    students_now = not owner_likely and viewers.is_viewer(user, class_id)
    shown = sorted({c for row in page for c in row.class_ids} - {class_id})
    # Not logged, and discarded if the class check fails: they only filter the ids shown.
    filter_now = not owner_likely and len(shown) <= MAX_FILTER_CHECKS
    shown_group = Group(Kind.CLASS, shown if filter_now else [], log_use=False)
    [class_answer], [student_answer, shown_answer] = await auth.ask_groups(
        user, [Ask(class_ref)], [students if students_now else Group(Kind.STUDENT, []), shown_group]
    )
    viewers.remember(
        user,
        class_id,
        class_answer.allowed and ACCESS_OF_RELATION.get(class_answer.relation) == pb.ACCESS_VIEWER,
    )
    [class_access] = decide([(class_ref, Permission.READ)], [class_answer])

    if class_access == pb.ACCESS_VIEWER and page:
        # A class viewer may hold a stronger grant on some students: ask for the whole
        # page in one group. Owners and editors of the class need no call (a student is
        # owned by its class's owner, and editor is the most a grant gives).
        if not students_now:
            _, [student_answer] = await auth.ask_groups(user, [], [students])
        found = readable_in(students, student_answer)
        access = {row.id: found.get(row.id, pb.ACCESS_VIEWER) for row in page}
    else:
        access = {row.id: class_access for row in page}
        if class_access == pb.ACCESS_EDITOR:
            # An editor is not the owner: its list reads are logged like a viewer's.
            await auth.log_reads(user, Kind.STUDENT, students.ids)

    wanted = convert.class_ids_to_filter(page, access)
    if not wanted:
        seen: set[uuid.UUID] = set()
    elif filter_now:
        # The class itself may be read: its check just allowed it.
        seen = {class_id, *readable_in(shown_group, shown_answer)}
    else:
        seen = await auth.readable_ids(user, Kind.CLASS, wanted)
    return PageAccess(access, seen)
