"""The one mapping between the proto ``Role`` enum and the role text stored and signed."""

from __future__ import annotations

from typing import Final

from trackcc.auth.v1 import auth_service_pb2 as pb

# The text is what the accounts table stores and what the access token's ``role`` claim says.
_TEXT_BY_ROLE: Final[dict[pb.Role.ValueType, str]] = {
    pb.ROLE_TEACHER: "teacher",
    pb.ROLE_GUARDIAN: "guardian",
    pb.ROLE_STUDENT: "student",
    pb.ROLE_SUPPORT: "support",
}
_ROLE_BY_TEXT: Final[dict[str, pb.Role.ValueType]] = {
    text: role for role, text in _TEXT_BY_ROLE.items()
}

# Support accounts come only from the admin command line, never from signup.
SIGNUP_ROLES: Final[frozenset[pb.Role.ValueType]] = frozenset(
    {pb.ROLE_TEACHER, pb.ROLE_GUARDIAN, pb.ROLE_STUDENT}
)


def role_text(role: pb.Role.ValueType) -> str:
    """The stored text of a known role; KeyError for UNSPECIFIED or unknown values."""
    return _TEXT_BY_ROLE[role]


def role_enum(text: str) -> pb.Role.ValueType:
    """The proto enum of a stored role text."""
    return _ROLE_BY_TEXT[text]
