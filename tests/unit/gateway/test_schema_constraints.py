"""The OpenAPI document states what the server enforces (so that a fuzzer's valid request is
valid), names the links between operations, and a 422 names each field once."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from services.gateway.errors import FieldError, ProblemError
from services.gateway.openapi import build_document
from services.gateway.routes import all_routes
from services.gateway.routes.accounts import CREATE_ACCOUNT_SCHEMA
from services.gateway.routes.roster_json import CREATE_CLASS_SCHEMA, CREATE_STUDENT_SCHEMA
from services.gateway.routes.sessions import SIGN_IN_SCHEMA
from services.gateway.routes.sharing_json import CREATE_INVITATION_SCHEMA
from services.gateway.routes.support import UNLOCK_SCHEMA
from services.gateway.validation import validate

DOCUMENT = build_document(all_routes(), "https://trackcc.test")


def _valid(value: Any, schema: Any) -> bool:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return validator.is_valid(value)


@pytest.mark.parametrize(
    ("schema", "body", "valid"),
    [
        # Names: roster trims them and refuses what is left blank or holds controls.
        (CREATE_CLASS_SCHEMA, {"name": "7B"}, True),
        (CREATE_CLASS_SCHEMA, {"name": " \t "}, False),
        (CREATE_CLASS_SCHEMA, {"name": "7\x00B"}, False),
        (CREATE_CLASS_SCHEMA, {"name": "7B", "term": "autumn\nterm"}, True),
        (CREATE_CLASS_SCHEMA, {"name": "7B", "term": "autumn\x1b"}, False),
        (UNLOCK_SCHEMA, {"reason": "   "}, False),
        # Birth dates: roster takes none before 1900.
        (CREATE_STUDENT_SCHEMA, {"display_name": "A", "birth_date": "1900-01-01"}, True),
        (CREATE_STUDENT_SCHEMA, {"display_name": "A", "birth_date": "1899-12-31"}, False),
        # Email addresses: a dot in the domain, at most 64 characters before the "@".
        (CREATE_ACCOUNT_SCHEMA, {"email": "a@b", "password": "p" * 9, "role": "student"}, False),
        (
            CREATE_ACCOUNT_SCHEMA,
            {"email": "x" * 65 + "@b.org", "password": "p" * 9, "role": "student"},
            False,
        ),
        (CREATE_ACCOUNT_SCHEMA, {"email": "a@b.org", "password": "p" * 9, "role": "student"}, True),
        # Account profiles refuse tabs and line breaks too.
        (
            CREATE_ACCOUNT_SCHEMA,
            {"email": "a@b.org", "password": "p" * 9, "role": "student", "gender": "f\tm"},
            False,
        ),
        # Sign-in takes any address, but no control characters (json_text.py refuses them).
        (SIGN_IN_SCHEMA, {"email": "anything", "password": "x"}, True),
        (SIGN_IN_SCHEMA, {"email": "any\x1dthing", "password": "x"}, False),
        (
            CREATE_INVITATION_SCHEMA,
            {"email": "a@b.org", "relation": "viewer", "role": "guardian", "message": "hi\x07"},
            False,
        ),
    ],
)
def test_schemas_state_the_servers_rules(schema: Any, body: dict[str, Any], valid: bool) -> None:
    assert _valid(body, schema) is valid


def test_a_field_breaking_several_keywords_is_named_once() -> None:
    with pytest.raises(ProblemError) as raised:
        validate({"name": ""}, CREATE_CLASS_SCHEMA)
    assert raised.value.errors == [FieldError("name", "must be at least 1 characters long")]
    body = {"email": "not-an-address", "relation": "viewer", "role": "guardian"}
    with pytest.raises(ProblemError) as raised:
        validate(body, CREATE_INVITATION_SCHEMA)
    assert raised.value.errors == [FieldError("email", "must be a valid email")]


def test_every_path_parameter_is_a_uuid() -> None:
    parameters = [
        parameter
        for operations in DOCUMENT["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]
    assert parameters
    assert all(p["schema"] == {"type": "string", "format": "uuid"} for p in parameters)


def test_links_lead_from_created_resources_to_their_operations() -> None:
    operations = {
        operation["operationId"]: operation
        for operations in DOCUMENT["paths"].values()
        for operation in operations.values()
    }
    created = operations["createStudent"]["responses"]["201"]["links"]
    assert created["getStudent"] == {
        "operationId": "getStudent",
        "parameters": {"id": "$response.body#/id"},
    }
    for source in operations.values():
        for status, response in source["responses"].items():
            for link in response.get("links", {}).values():
                target = operations[link["operationId"]]  # every target exists
                names = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                assert set(link["parameters"]) == names, (source["operationId"], status)
