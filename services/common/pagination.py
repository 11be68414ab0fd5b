"""Page sizes and opaque keyset page tokens (AIP-158): the one format of every List method.

A token is the URL-safe base64 (unpadded) of a JSON array of strings: the name of the list
that issued it, then the sort keys of the last row of the page (``[scope, time, id]`` for the
newest- or oldest-first lists). A token from another list, or one that is not ours at all, is
one error everywhere (:func:`bad_page_token`), which the gateway answers ``400
invalid_page_token``. Tokens are short-lived and opaque: their format may change between
releases.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, NamedTuple, TypeVar

from services.common import reasons
from services.common.errors import InvalidArgument

T = TypeVar("T")

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200

# Integer sort keys in tokens: ASCII digits that fit PostgreSQL's bigint. str.isdigit()
# would also take "²" and "١", which int() refuses or reads.
_BIGINT_KEY = re.compile(r"[0-9]{1,18}")


class Cursor(NamedTuple):
    """The (time, id) sort key of the last row a page returned."""

    created_at: datetime
    id: uuid.UUID


def page_size(requested: int, maximum: int = MAX_PAGE_SIZE) -> int:
    """The requested size, 0 meaning the default, clamped to the maximum; negative is an error."""
    if requested < 0:
        raise InvalidArgument(
            "page_size must not be negative", field_violations=[("page_size", "negative")]
        )
    return min(requested or DEFAULT_PAGE_SIZE, maximum)


def bad_page_token() -> InvalidArgument:
    """The error for a token this list did not issue."""
    return InvalidArgument(
        "page_token is not valid",
        reason=reasons.INVALID_PAGE_TOKEN,
        field_violations=[("page_token", "not a token from this list")],
    )


def encode_token(*keys: str) -> str:
    """A token that resumes after the row with these keys."""
    raw = json.dumps(list(keys), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, parts: int) -> list[str] | None:
    """The keys of a token from :func:`encode_token`, None for the first page."""
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
        raise bad_page_token()
    return keys


def scoped_keys(token: str, scope: str, parts: int) -> list[str] | None:
    """The ``parts`` sort keys of a token issued by the list named ``scope``."""
    keys = decode_token(token, parts + 1)
    if keys is None:
        return None
    if keys[0] != scope:
        raise bad_page_token()
    return keys[1:]


def token_time(value: str) -> datetime:
    """A time sort key from a token."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise bad_page_token() from None


def token_uuid(value: str) -> uuid.UUID:
    """A UUID sort key from a token."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise bad_page_token() from None


def bigint_key(value: str) -> int:
    """An integer sort key from a token."""
    if not _BIGINT_KEY.fullmatch(value):
        raise bad_page_token()
    return int(value)


def time_token(scope: str, at: datetime, key: object) -> str:
    """The token of the list ``scope`` resuming after the row (at, key)."""
    return encode_token(scope, at.isoformat(), str(key))


def time_key(token: str, scope: str) -> tuple[datetime, str] | None:
    """The (time, key) of a :func:`time_token` of the list ``scope``; None for the first page."""
    keys = scoped_keys(token, scope, 2)
    return (token_time(keys[0]), keys[1]) if keys else None


def time_uuid_key(token: str, scope: str) -> Cursor | None:
    """The (time, UUID) cursor of a :func:`time_token` of the list ``scope``."""
    key = time_key(token, scope)
    return Cursor(key[0], token_uuid(key[1])) if key else None


def time_page(
    found: Sequence[T], size: int, scope: str, key: Callable[[T], tuple[datetime, object]]
) -> tuple[list[T], str]:
    """The page of a list read with one row more than ``size``, and the :func:`time_token`
    that resumes after it ("" when that extra row was not there: the list ends here)."""
    page = list(found[:size])
    return page, time_token(scope, *key(page[-1])) if len(found) > size else ""
