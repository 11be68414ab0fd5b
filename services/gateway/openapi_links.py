"""OpenAPI links: which operation's answer names the resource that other operations take.

A client (or a stateful fuzzer such as schemathesis) follows them from a created class,
student, invitation, grant or session to the routes that read, change or delete it, instead of
guessing ids. Keyed by the operation whose success response carries the link.
"""

from __future__ import annotations

from typing import Any

_BODY_ID = "$response.body#/id"

CLASS_OPERATIONS = (
    "getClass",
    "updateClass",
    "deleteClass",
    "listClassStudents",
    "createClassInvitation",
    "listClassGrants",
    "listClassAccessLog",
)
STUDENT_OPERATIONS = (
    "getStudent",
    "updateStudent",
    "deleteStudent",
    "putStudentPhoto",
    "getStudentPhoto",
    "deleteStudentPhoto",
    "createStudentInvitation",
    "listStudentGrants",
    "listStudentAccessLog",
)
INVITATION_OPERATIONS = ("resendInvitation", "revokeInvitation")


def _links(operations: tuple[str, ...], parameter: str, value: str) -> dict[str, Any]:
    return {
        target: {"operationId": target, "parameters": {parameter: value}} for target in operations
    }


LINKS: dict[str, dict[str, Any]] = {
    "createClass": _links(CLASS_OPERATIONS, "id", _BODY_ID),
    "createStudent": _links(STUDENT_OPERATIONS, "id", _BODY_ID),
    "createClassInvitation": _links(INVITATION_OPERATIONS, "id", _BODY_ID),
    "createStudentInvitation": _links(INVITATION_OPERATIONS, "id", _BODY_ID),
    "acceptInvitation": _links(("deleteGrant",), "id", _BODY_ID),
    "createSession": _links(("deleteSession",), "id", "$response.body#/session_id"),
}
