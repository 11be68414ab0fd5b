"""Schema validation: unknown fields, missing fields, messages that echo nothing."""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.errors import FieldError, ProblemError
from services.gateway.routes.accounts import CREATE_ACCOUNT_SCHEMA
from services.gateway.routes.me import UPDATE_SCHEMA
from services.gateway.routes.sessions import SIGN_IN_SCHEMA
from services.gateway.validation import parse_json, validate


def _errors(value: Any, schema: Any) -> list[FieldError]:
    with pytest.raises(ProblemError) as raised:
        validate(value, schema)
    assert (raised.value.status, raised.value.code) == (422, "validation_failed")
    return list(raised.value.errors)


def test_unknown_fields_are_rejected_by_name() -> None:
    body = {"email": "a@b.org", "password": "pw", "role": "teacher", "id": "x", "is_admin": True}
    assert _errors(body, CREATE_ACCOUNT_SCHEMA) == [
        FieldError("id", "is not a known field"),
        FieldError("is_admin", "is not a known field"),
    ]


def test_missing_fields_are_listed() -> None:
    assert _errors({}, SIGN_IN_SCHEMA) == [
        FieldError("email", "is required"),
        FieldError("password", "is required"),
    ]


def test_messages_never_echo_the_value() -> None:
    secret = "p" * 300
    errors = _errors({"email": "a@b.org", "password": secret, "role": "x"}, CREATE_ACCOUNT_SCHEMA)
    assert [e.field for e in errors] == ["password", "role"]
    assert all(secret not in e.message and "x" != e.message for e in errors)


def test_formats_are_checked() -> None:
    body = {"email": "no-at-sign", "password": "pw", "role": "teacher", "birth_date": "2020-13-40"}
    assert {e.field for e in _errors(body, CREATE_ACCOUNT_SCHEMA)} == {"email", "birth_date"}


def test_valid_body_passes() -> None:
    validate({"email": "a@b.org", "password": "pw", "role": "student"}, CREATE_ACCOUNT_SCHEMA)
    validate({"display_name": None}, UPDATE_SCHEMA)


def test_empty_profile_patch_and_unknown_fields_are_rejected() -> None:
    # One rule for every PATCH: the body names at least one field (docs/api.md).
    assert [e.field for e in _errors({}, UPDATE_SCHEMA)] == ["body"]
    validate({"gender": None}, UPDATE_SCHEMA)  # one field, even null, is a patch
    assert [e.field for e in _errors({"role": "support"}, UPDATE_SCHEMA)] == ["role"]


def test_non_object_body_is_422() -> None:
    assert [e.field for e in _errors([1, 2], SIGN_IN_SCHEMA)] == ["body"]


@pytest.mark.parametrize("raw", [b'{"a": ', b"NaN", b"\xff\xfe", b'{"a": Infinity}'])
def test_malformed_json_is_400(raw: bytes) -> None:
    with pytest.raises(ProblemError) as raised:
        parse_json(raw)
    assert (raised.value.status, raised.value.code) == (400, "malformed_json")
