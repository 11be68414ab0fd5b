"""Request bodies and query parameters: media type, size, JSON syntax and JSON Schema.

Schemas are Draft 2020-12 objects with ``additionalProperties: false`` (no mass assignment),
declared next to each route and published unchanged in the OpenAPI document. Messages are
written here, never taken from jsonschema, so that a rejected value (a password that is too
long) is never echoed back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, cast

from aiohttp import web
from jsonschema import Draft202012Validator, ValidationError

from services.common import reasons
from services.gateway.errors import FieldError, ProblemError
from services.gateway.json_text import check_json_text, too_deep

JSON_CONTENT_TYPE = "application/json"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_PAGE_TOKEN_LENGTH = 1024
_READ_CHUNK = 64 * 1024
_PAGE_SIZE = re.compile(r"[0-9]{1,4}")

Schema = Mapping[str, Any]


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259) even though Python's parser accepts them.
    raise ValueError(f"{name} is not valid JSON")


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The raw body, refusing anything over ``max_bytes`` before and while reading."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ProblemError(413, reasons.PAYLOAD_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise ProblemError(413, reasons.PAYLOAD_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def check_json_content_type(request: web.Request) -> None:
    """Only ``application/json`` (UTF-8) bodies are accepted."""
    charset = request.charset
    if request.content_type != JSON_CONTENT_TYPE or (charset and charset.lower() != "utf-8"):
        raise ProblemError(415, reasons.UNSUPPORTED_MEDIA_TYPE)


def parse_json(body: bytes) -> Any:
    """The JSON value of a body, or ``400 malformed_json``."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise ProblemError(400, reasons.MALFORMED_JSON) from None
    except RecursionError:
        raise too_deep() from None


async def read_json(request: web.Request, schema: Schema, max_bytes: int) -> dict[str, Any]:
    """Content type, size, syntax and schema checks, in that order; the validated object."""
    check_json_content_type(request)
    value = parse_json(await read_body(request, max_bytes))
    # Before the schema: the validator recurses too, and its messages name the fields.
    check_json_text(value, schema)
    validate(value, schema)
    assert isinstance(value, dict)  # every request schema is an object schema
    return value


# Route schemas are module constants, so a validator is built once per schema object; the
# schema is kept alongside so its id cannot be reused by another object.
_VALIDATORS: dict[int, tuple[Schema, Draft202012Validator]] = {}


def _validator(schema: Schema) -> Draft202012Validator:
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def validate(value: Any, schema: Schema) -> None:
    """Raises ``422 validation_failed`` listing every invalid field."""
    validator = _validator(schema)
    errors: list[FieldError] = []
    for error in validator.iter_errors(value):
        errors.extend(_field_errors(error))
    if errors:
        # One message per field, the first its schema states: a value can break several
        # keywords at once ("" is too short and blank; an address without "@" breaks the
        # format and the pattern), and the client needs to know the field, once.
        first: dict[str, FieldError] = {}
        for error in errors:
            first.setdefault(error.field, error)
        raise ProblemError(
            422, reasons.VALIDATION_FAILED, errors=sorted(first.values(), key=lambda e: e.field)
        )


def _path(error: ValidationError, leaf: str | None = None) -> str:
    parts = [str(part) for part in error.absolute_path]
    if leaf is not None:
        parts.append(leaf)
    return ".".join(parts)


def _field_errors(error: ValidationError) -> Iterator[FieldError]:
    instance = error.instance
    keyword = error.validator
    if keyword == "additionalProperties" and isinstance(instance, dict):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        known = set(schema.get("properties", {}))
        for name in sorted(set(instance) - known):
            yield FieldError(_path(error, name), "is not a known field")
        return
    if keyword == "required" and isinstance(instance, dict):
        for name in cast(list[str], error.validator_value):
            if name not in instance:
                yield FieldError(_path(error, name), "is required")
        return
    yield FieldError(_path(error) or "body", _message(error))


def _message(error: ValidationError) -> str:
    keyword = error.validator
    expected: Any = error.validator_value
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(f"a {kind}" if kind != "null" else "null" for kind in kinds)
    if keyword == "minLength":
        return f"must be at least {expected} characters long"
    if keyword == "maxLength":
        return f"must be at most {expected} characters long"
    if keyword == "enum":
        return "must be one of: " + ", ".join(str(choice) for choice in expected)
    if keyword == "format":
        return f"must be a valid {expected}"
    if keyword == "minimum":
        return f"must be at least {expected}"
    if keyword == "maximum":
        return f"must be at most {expected}"
    if keyword == "minProperties":
        return f"must have at least {expected} field(s)"
    if keyword == "pattern":
        return "has an invalid format"
    return "is invalid"


def page_params(request: web.Request) -> tuple[int, str]:
    """``page_size`` (default 50, 1..200) and ``page_token`` from the query string."""
    errors: list[FieldError] = []
    raw_size = request.query.get("page_size")
    size = DEFAULT_PAGE_SIZE
    if raw_size is not None:
        # ASCII digits only, and few of them: str.isdigit() also takes "²", which int()
        # refuses, and int() refuses more than 4,300 digits.
        if _PAGE_SIZE.fullmatch(raw_size) and 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            size = int(raw_size)
        else:
            errors.append(FieldError("page_size", f"must be an integer from 1 to {MAX_PAGE_SIZE}"))
    token = request.query.get("page_token", "")
    if len(token) > MAX_PAGE_TOKEN_LENGTH:
        errors.append(FieldError("page_token", "is too long"))
    if errors:
        raise ProblemError(422, reasons.VALIDATION_FAILED, errors=errors)
    return size, token


def bool_param(request: web.Request, name: str, default: bool = False) -> bool:
    """A ``true``/``false`` query parameter."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw in ("true", "false"):
        return raw == "true"
    raise ProblemError(
        422, reasons.VALIDATION_FAILED, errors=[FieldError(name, "must be true or false")]
    )


PAGE_QUERY_PARAMETERS: tuple[Mapping[str, Any], ...] = (
    {
        "name": "page_size",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 50},
    },
    {
        "name": "page_token",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "maxLength": MAX_PAGE_TOKEN_LENGTH},
    },
)
