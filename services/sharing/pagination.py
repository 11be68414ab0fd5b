"""Page sizes and opaque keyset page tokens for every List method."""

from __future__ import annotations

import base64
import binascii
import json

from services.common.errors import InvalidArgument

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
    if not isinstance(keys, list) or len(keys) != parts or not all(isinstance(k, str) for k in keys):
        raise InvalidArgument(
            "page_token is not valid",
            reason="invalid_page_token",
            field_violations=[("page_token", "not a token from this list")],
        )
    return keys
