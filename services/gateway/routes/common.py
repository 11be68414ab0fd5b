"""What every route module shares: path ids, times, page answers, the Idempotency-Key, and the
schemas of the fields several resources have.

A route module imports only :mod:`.spec`, this module and its own ``*_json`` module, never a
sibling route module. The services keep the idempotency keys
(``services/common/idempotency.py``, which also holds the one length limit); the gateway only
checks the header's shape and passes it on (docs/api.md; AIP-155 ``request_id``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from services.common import reasons
from services.common.idempotency import MAX_REQUEST_ID
from services.common.timestamps import rfc3339
from services.gateway.errors import FieldError, ProblemError
from services.gateway.json_encoding import json_bytes
from services.gateway.routes.spec import json_response
from services.gateway.validation import Schema


def json_time(value: Timestamp, present: bool = True) -> str | None:
    """RFC 3339 UTC (``...Z``), or None when the field is unset."""
    if not present:
        return None
    return rfc3339(value)


def path_uuid(value: str) -> str:
    """A path id; anything that is not a UUID names nothing, so it is ``404``."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ProblemError(404, reasons.NOT_FOUND) from None


def page_response(items: Iterable[dict[str, Any]], next_page_token: str) -> web.Response:
    return json_response({"items": list(items), "next_page_token": next_page_token})


def rendered_page_response(items_json: bytes, next_page_token: str) -> web.Response:
    """:func:`page_response` for items a service already rendered as a JSON array: the bytes
    go out as they came (the service's tests hold them to the gateway's own shapes)."""
    body = b"".join(
        (
            b'{"items":',
            items_json or b"[]",
            b',"next_page_token":',
            json_bytes(next_page_token),
            b"}",
        )
    )
    return web.Response(body=body, content_type="application/json")


# --- the Idempotency-Key header of every create ------------------------------------------

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# Printable ASCII without spaces, and one length limit for every service that keeps keys:
# the key is stored by the service and never interpreted.
_IDEMPOTENCY_KEY_PATTERN = f"^[\\x21-\\x7e]{{1,{MAX_REQUEST_ID}}}$"
_IDEMPOTENCY_KEY = re.compile(_IDEMPOTENCY_KEY_PATTERN)

IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_KEY_HEADER,
    "in": "header",
    "required": False,
    "description": "A replay with the same key and body returns the first response.",
    "schema": {"type": "string", "pattern": _IDEMPOTENCY_KEY_PATTERN},
}


def idempotency_key(request: web.Request) -> str:
    """The ``Idempotency-Key`` header as the Create RPC's ``request_id`` (AIP-155)."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return ""
    if not _IDEMPOTENCY_KEY.match(key):
        message = f"must be 1 to {MAX_REQUEST_ID} visible characters"
        raise ProblemError(
            422, reasons.VALIDATION_FAILED, errors=[FieldError(IDEMPOTENCY_KEY_HEADER, message)]
        )
    return key


# The proto field that carries the key, as the API names it in a 422's ``errors``.
IDEMPOTENCY_FIELDS = {"request_id": IDEMPOTENCY_KEY_HEADER}


# --- schemas -----------------------------------------------------------------------------

UUID_SCHEMA: Schema = {"type": "string", "format": "uuid"}
# What json_text.py refuses in every string: C0 and C1 controls other than tab and line breaks.
NO_CONTROLS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
# auth's profile fields refuse tab and line breaks too (services/auth/validation.py).
NO_CONTROLS_AT_ALL = r"^[^\x00-\x1f\x7f-\x9f]*$"
# Required names: something left once trimmed, and no controls but tab and line breaks.
_TEXT = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
NOT_BLANK = rf"^{_TEXT}*[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{_TEXT}*$"
TIME_SCHEMA: Schema = {"type": "string", "format": "date-time"}
OPTIONAL_TIME_SCHEMA: Schema = {"type": ["string", "null"], "format": "date-time"}
# email-validator's rules (services/common/emails.py) go further than JSON Schema can say; a
# local part of at most 64 characters, a dot in the domain and no controls it can.
EMAIL_SCHEMA: Schema = {
    "type": "string",
    "format": "email",
    "minLength": 3,
    "maxLength": 254,
    "pattern": r"^[^@\x00-\x1f\x7f-\x9f]{1,64}@[^@\x00-\x1f\x7f-\x9f]+\.[^@\x00-\x1f\x7f-\x9f]+$",
}
# 256 is the contract's limit: longer passwords answer 422 before anything hashes them.
# "format": "password" also tells json_text.py that any character but a lone surrogate is
# the user's own choice (docs/api.md: any Unicode characters).
PASSWORD_SCHEMA: Schema = {"type": "string", "format": "password", "minLength": 1, "maxLength": 256}
# A password being set. Its minimum of 8 characters is auth's policy, not a schema bound: the
# contract answers a short one as 422 weak_password with a strength score (and counts after
# NFKC normalization), which a schema refusal (validation_failed) would not.
NEW_PASSWORD_SCHEMA: Schema = {
    **PASSWORD_SCHEMA,
    "description": "At least 8 characters after NFKC normalization, and not guessable "
    "(422 weak_password with the strength score otherwise).",
}
TOKEN_SCHEMA: Schema = {"type": "string", "minLength": 1, "maxLength": 512, "pattern": NO_CONTROLS}
# The limits auth enforces (validation.py), so the document tells clients the truth.
DISPLAY_NAME_SCHEMA: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    "pattern": NO_CONTROLS_AT_ALL,
}
BIRTH_DATE_SCHEMA: Schema = {
    "type": "string",
    "format": "date",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "description": "YYYY-MM-DD, in the past.",
}
GENDER_SCHEMA: Schema = {"type": "string", "maxLength": 50, "pattern": NO_CONTROLS_AT_ALL}


def nullable(schema: Schema) -> Schema:
    """The schema, or null (which clears the field in a PATCH)."""
    return {"anyOf": [dict(schema), {"type": "null"}]}


def list_schema(item: Schema) -> Schema:
    """``{items, next_page_token}`` with ``next_page_token`` empty at the end."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["items", "next_page_token"],
        "properties": {
            "items": {"type": "array", "items": item},
            "next_page_token": {"type": "string"},
        },
    }


def object_schema(required: list[str], properties: dict[str, Schema]) -> Schema:
    """A request body: exactly these fields, unknown ones rejected."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def at_least_one(schema: Schema) -> Schema:
    """The one rule of every PATCH: the body names at least one field, else 422.

    An empty update mask would mean "replace everything" (AIP-134), and an empty body is
    more often a client's mistake than a wish to change nothing.
    """
    return {**schema, "minProperties": 1}
