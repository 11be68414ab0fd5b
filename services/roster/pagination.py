"""Page sizes and opaque keyset page tokens: lists resume after a (created_at, id) key."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from services.common.errors import InvalidArgument
from services.common.page_tokens import bad_page_token

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Cursor:
    """The sort key of the last row a page returned."""

    created_at: datetime
    id: uuid.UUID


def page_size(requested: int) -> int:
    """The requested size, 0 meaning the default, clamped to the maximum (AIP-158)."""
    if requested < 0:
        raise InvalidArgument(
            "page_size must not be negative", field_violations=[("page_size", "negative")]
        )
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode(cursor: Cursor, scope: str) -> str:
    """A token resuming after ``cursor``; ``scope`` ties it to the list that issued it."""
    raw = json.dumps([scope, cursor.created_at.isoformat(), str(cursor.id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, scope: str) -> Cursor | None:
    """The cursor of a token, None for the first page; a foreign token is INVALID_ARGUMENT."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        keys = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(keys, list) or len(keys) != 3 or keys[0] != scope:
            raise ValueError("not ours")
        return Cursor(datetime.fromisoformat(keys[1]), uuid.UUID(keys[2]))
    except (ValueError, TypeError, binascii.Error):
        raise bad_page_token() from None
