"""Page sizes and opaque keyset page tokens for every List method."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from services.common.errors import InvalidArgument
from services.common.page_tokens import bad_page_token

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def page_size(requested: int, maximum: int = MAX_PAGE_SIZE) -> int:
    """The requested size, 0 meaning the default, clamped to the maximum (AIP-158)."""
    if requested < 0:
        raise InvalidArgument(
            "page_size must not be negative", field_violations=[("page_size", "negative")]
        )
    return min(requested or DEFAULT_PAGE_SIZE, maximum)


def encode_token(*keys: str) -> str:
    """A token that resumes after the row with these sort keys."""
    raw = json.dumps(list(keys), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, parts: int) -> list[str] | None:
    """The sort keys of a token, None for the first page; a bad token is INVALID_ARGUMENT."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        keys = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        keys = None
    if (
        not isinstance(keys, list)
        or len(keys) != parts
        or not all(isinstance(k, str) for k in keys)
    ):
        raise bad_token()
    return keys


def time_key(token: str) -> tuple[datetime, str] | None:
    """A (time, id) key from a token of a newest-first or oldest-first list."""
    keys = decode_token(token, 2)
    if keys is None:
        return None
    try:
        at = datetime.fromisoformat(keys[0])
    except ValueError:
        raise bad_token() from None
    return at, keys[1]


def time_token(at: datetime, key: str) -> str:
    """The token resuming after (at, key)."""
    return encode_token(at.isoformat(), key)


def bad_token() -> InvalidArgument:
    """The error for a token this list did not issue."""
    return bad_page_token()


def token_uuid(value: str) -> uuid.UUID:
    """A UUID sort key from a token."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise bad_token() from None


def time_uuid_key(token: str) -> tuple[datetime, uuid.UUID] | None:
    """A (time, UUID) key from a token."""
    key = time_key(token)
    return (key[0], token_uuid(key[1])) if key else None
