"""Page sizes and opaque keyset page tokens (AIP-158) for the auth service's lists."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Final

from services.common.errors import InvalidArgument
from services.common.page_tokens import bad_page_token

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200


def page_size(requested: int) -> int:
    """The size to use: the default for 0, capped at the maximum; negative is an error."""
    if requested < 0:
        raise InvalidArgument(
            "page_size must not be negative", field_violations=[("page_size", "is negative")]
        )
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode(*parts: str) -> str:
    """A token naming the last item of a page."""
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


def decode(token: str, count: int) -> list[str] | None:
    """The parts of a token from :func:`encode`; None for the first page."""
    if not token:
        return None
    try:
        parts = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        parts = None
    if (
        not isinstance(parts, list)
        or len(parts) != count
        or not all(isinstance(part, str) for part in parts)
    ):
        raise bad_page_token()
    return parts
