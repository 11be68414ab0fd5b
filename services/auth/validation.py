"""Validation and normalization of signup fields other than the password."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

from services.auth.roles import SIGNUP_ROLES, role_text
from services.common import emails
from services.common.errors import InvalidArgument
from trackcc.auth.v1 import auth_service_pb2 as pb

MAX_DISPLAY_NAME_LENGTH: Final = 100
MAX_GENDER_LENGTH: Final = 50

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class SignupFields:
    """Signup data after validation, ready to store."""

    email: str
    role: str
    display_name: str | None
    birth_date: dt.date | None
    gender: str | None


def normalize_email(raw: str) -> str:
    """The form stored and looked up (services/common/emails.py holds the rule)."""
    return emails.lookup_form(raw)


def email_problem(email: str) -> str | None:
    """Why an email is not acceptable, or None."""
    return emails.email_problem(email)


def validate_signup(request: pb.CreateAccountRequest, today: dt.date) -> SignupFields:
    """The normalized fields, or InvalidArgument listing every bad field at once."""
    violations: list[tuple[str, str]] = []

    email = normalize_email(request.email)
    problem = email_problem(email)
    if problem:
        violations.append(("email", problem))

    role = ""
    if request.role == pb.ROLE_UNSPECIFIED:
        violations.append(("role", "is required"))
    elif request.role not in SIGNUP_ROLES:
        violations.append(("role", "must be teacher, guardian or student"))
    else:
        role = role_text(request.role)

    display_name = _free_text(
        request.display_name if request.HasField("display_name") else None,
        "display_name",
        MAX_DISPLAY_NAME_LENGTH,
        violations,
    )
    gender = _free_text(
        request.gender if request.HasField("gender") else None,
        "gender",
        MAX_GENDER_LENGTH,
        violations,
    )

    birth_date = None
    if request.HasField("birth_date") and request.birth_date:
        birth_date = _past_date(request.birth_date, today, violations)

    if violations:
        raise InvalidArgument("the request has invalid fields", field_violations=violations)
    return SignupFields(email, role, display_name, birth_date, gender)


def _free_text(
    value: str | None, field: str, limit: int, violations: list[tuple[str, str]]
) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        violations.append((field, f"must be at most {limit} characters"))
    elif _has_control(text):
        violations.append((field, "must not contain control characters"))
    return text


def _past_date(value: str, today: dt.date, violations: list[tuple[str, str]]) -> dt.date | None:
    # fromisoformat alone would also take "20200101" and week dates; the contract says
    # YYYY-MM-DD.
    try:
        if not _DATE.match(value):
            raise ValueError
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        violations.append(("birth_date", "must be a date written YYYY-MM-DD"))
        return None
    if parsed >= today:
        violations.append(("birth_date", "must be in the past"))
        return None
    return parsed


def _has_control(text: str) -> bool:
    return any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text)


PROFILE_FIELDS: Final = ("display_name", "birth_date", "gender")


def validate_profile_update(
    values: pb.Account, paths: list[str], today: dt.date
) -> dict[str, str | dt.date | None]:
    """The columns to set from an UpdateAccount mask; unset or empty values clear a field.

    An empty mask changes nothing (a PATCH with an empty body answers the account as is).
    """
    violations: list[tuple[str, str]] = []
    unknown = [path for path in paths if path not in PROFILE_FIELDS]
    for path in unknown:
        violations.append(("update_mask", f"{path!r} cannot be changed here"))
    changes: dict[str, str | dt.date | None] = {}
    # Optional proto fields: unset (not only empty) means "clear".
    given = {
        "display_name": values.display_name if values.HasField("display_name") else None,
        "birth_date": values.birth_date if values.HasField("birth_date") else None,
        "gender": values.gender if values.HasField("gender") else None,
    }
    for path in dict.fromkeys(paths):
        if path in unknown:
            continue
        raw = given[path]
        if path == "display_name":
            changes[path] = _free_text(raw, path, MAX_DISPLAY_NAME_LENGTH, violations)
        elif path == "gender":
            changes[path] = _free_text(raw, path, MAX_GENDER_LENGTH, violations)
        else:
            changes[path] = _past_date(raw, today, violations) if raw else None
    if violations:
        raise InvalidArgument("the request has invalid fields", field_violations=violations)
    return changes
