"""Request fields every service checks alike: a validation error naming the field, UUIDs."""

from __future__ import annotations

import uuid

from services.common.errors import InvalidArgument


def invalid(field: str, problem: str) -> InvalidArgument:
    """A validation error naming the API field (HTTP 422)."""
    return InvalidArgument(f"{field}: {problem}", field_violations=[(field, problem)])


def parse_uuid(value: str, field: str) -> uuid.UUID:
    """A UUID from a request field; anything else is INVALID_ARGUMENT naming the field."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid(field, "must be a UUID") from None
