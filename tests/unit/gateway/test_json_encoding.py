"""Answers are the JSON that json.dumps wrote before, without the separators' spaces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.gateway.errors import ProblemError, problem_response
from services.gateway.json_encoding import json_bytes
from services.gateway.routes.spec import json_response


def _python_json(value: Any) -> bytes:
    """What the gateway wrote with the standard library, compact."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "value",
    [
        {"items": [], "next_page_token": ""},
        {"id": "6f1c1f49", "notes": None, "class_ids": ["a", "b"], "has": True, "n": 0},
        {"text": 'Zoë 😀 \u2028 日本 "quoted" back\\slash'},
        {"controls": "\x00\x01\x1f\x7f\x9f\t\n\r\b\f"},
        {"numbers": [0, -1, 2**53 + 1, 2**63 - 1, 1.5, 0.1, 1e16, -2.25]},
        {"nested": {"b": 1, "a": [{"z": None}]}},  # key order as built, never sorted
    ],
)
def test_the_same_text_as_the_standard_library(value: Any) -> None:
    assert json_bytes(value) == _python_json(value)
    assert json.loads(json_bytes(value)) == value


def test_what_json_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError):
        json_bytes({"value": object()})
    with pytest.raises(TypeError):
        json_bytes({"lone surrogate": "\ud800"})


def test_resources_and_problems_use_it() -> None:
    response = json_response({"name": "Zoë"}, 201)
    assert (response.status, response.content_type) == (201, "application/json")
    assert response.body == '{"name":"Zoë"}'.encode()
    problem = problem_response(ProblemError(404, "not_found"))
    assert problem.content_type == "application/problem+json"
    assert isinstance(problem.body, bytes)
    body = json.loads(problem.body)
    assert (body["type"], body["status"], body["code"]) == (
        "tag:trackcc,2026:problem:not_found",
        404,
        "not_found",
    )
    assert problem.body == _python_json(body)
