"""docs/api.md names every operation of the OpenAPI document, and nothing else.

The document is the one the gateway serves at ``GET /v1/openapi.json``: built by
``create_app`` from the gateway's settings, read from the app without starting it. In
docs/api.md an operation is a table row whose first cell is `` `METHOD /path` ``, with the
document's path template (``{id}``). A route added to the gateway without a row fails the
first test; a row left behind by a removed or renamed route fails the second.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from services.common.devcerts import DevPki
from services.gateway.app import create_app
from services.gateway.appkeys import OPENAPI
from services.gateway.config import GatewaySettings
from tests.support.gateway import gateway_env
from tests.support.services import make_jwt_keys

API_DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")
# A table row whose first cell is one operation: | `POST /v1/accounts` | ...
_ROUTE_ROW = re.compile(r"^\|\s*`(?P<method>[A-Z]+) (?P<path>/[^`\s]*)`\s*\|", re.MULTILINE)

Operation = tuple[str, str]


def documented_operations(markdown: str) -> list[Operation]:
    """Every `` `METHOD /path` `` that starts a table row, in the order written."""
    return [(match["method"], match["path"]) for match in _ROUTE_ROW.finditer(markdown)]


def served_operations(document: dict[str, Any]) -> set[Operation]:
    """Every path and method of an OpenAPI document."""
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in METHODS
    }


@pytest.fixture(scope="module")
def served(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> set[Operation]:
    keys = make_jwt_keys(tmp_path_factory.mktemp("docs-jwt"))
    targets = dict.fromkeys(("auth", "roster", "sharing"), "localhost:1")
    settings = GatewaySettings.from_env(gateway_env(pki, keys.jwks_file, targets))
    document = create_app(settings)[OPENAPI]
    return served_operations(document)


def test_every_operation_of_the_openapi_document_is_in_docs_api_md(
    served: set[Operation],
) -> None:
    documented = set(documented_operations(API_DOC.read_text(encoding="utf-8")))
    missing = sorted(served - documented)
    assert missing == [], f"operations missing from {API_DOC.name} (add a table row): {missing}"


def test_docs_api_md_documents_no_operation_that_is_not_served(served: set[Operation]) -> None:
    documented = documented_operations(API_DOC.read_text(encoding="utf-8"))
    assert sorted(set(documented) - served) == [], "rows for operations the gateway lacks"
    repeated = sorted({op for op in documented if documented.count(op) > 1})
    assert repeated == [], "operations with more than one row"


def test_the_row_format_is_what_the_check_reads() -> None:
    markdown = "\n".join(
        [
            "| route | body |",
            "| --- | --- |",
            "| `GET /v1/classes/{id}` | bearer |",
            "| `POST /v1/sessions` | `{email}`, see `DELETE /v1/sessions` |",
            "Prose naming `GET /v1/me` is not a row.",
        ]
    )
    assert documented_operations(markdown) == [
        ("GET", "/v1/classes/{id}"),
        ("POST", "/v1/sessions"),
    ]
