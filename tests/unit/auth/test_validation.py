"""Signup fields other than the password: normalization and every rule."""

from __future__ import annotations

import datetime as dt

import pytest

from services.auth.validation import email_problem, normalize_email, validate_signup
from services.common.errors import InvalidArgument
from trackcc.auth.v1 import auth_service_pb2 as pb

TODAY = dt.date(2026, 11, 28)


def _violations(request: pb.CreateAccountRequest) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as error:
        validate_signup(request, TODAY)
    assert error.value.reason == "validation_failed"
    return dict(error.value.field_violations)


def test_valid_signup_is_normalized() -> None:
    fields = validate_signup(
        pb.CreateAccountRequest(
            email="  Bob@Example.COM ",
            role=pb.ROLE_GUARDIAN,
            display_name="  Bob M. ",
            birth_date="1980-02-29",
            gender="",
        ),
        TODAY,
    )
    assert fields.email == "bob@example.com"
    assert fields.role == "guardian"
    assert fields.display_name == "Bob M."
    assert fields.birth_date == dt.date(1980, 2, 29)
    assert fields.gender is None


@pytest.mark.parametrize(
    "email",
    [
        "",
        "no-at-sign",
        "two@@example.org",
        "a@b@example.org",
        "sp ace@example.org",
        "a@localhost",
        "a@.example.org",
        "@example.org",
        "x" * 250 + "@example.org",
    ],
)
def test_bad_emails_are_refused(email: str) -> None:
    assert email_problem(normalize_email(email)) is not None


def test_a_plain_email_is_fine() -> None:
    assert email_problem("first.last+tag@school.example.org") is None


@pytest.mark.parametrize(
    ("role", "message"),
    [
        (pb.ROLE_UNSPECIFIED, "is required"),
        (pb.ROLE_SUPPORT, "must be teacher, guardian or student"),
    ],
)
def test_role_must_be_a_signup_role(role: pb.Role.ValueType, message: str) -> None:
    violations = _violations(pb.CreateAccountRequest(email="a@example.org", role=role))
    assert violations == {"role": message}


@pytest.mark.parametrize("birth_date", ["2026-11-28", "2030-01-01", "1990-02-30", "19900101", "x"])
def test_birth_date_must_be_a_real_past_date(birth_date: str) -> None:
    request = pb.CreateAccountRequest(
        email="a@example.org", role=pb.ROLE_STUDENT, birth_date=birth_date
    )
    assert set(_violations(request)) == {"birth_date"}


def test_long_or_control_text_is_refused() -> None:
    request = pb.CreateAccountRequest(
        email="a@example.org",
        role=pb.ROLE_TEACHER,
        display_name="n" * 101,
        gender="a\u0007b",
    )
    assert set(_violations(request)) == {"display_name", "gender"}
