"""What every List method answers for a page token it did not issue (AIP-158).

Each service encodes its own keyset tokens (``auth/pagination.py``, ``roster/pagination.py``,
``sharing/pagination.py``); the refusal is one error everywhere, so that the gateway answers
``400 invalid_page_token`` on every list alike.
"""

from __future__ import annotations

import re

from services.common.errors import InvalidArgument

# Integer sort keys in tokens: ASCII digits that fit PostgreSQL's bigint. str.isdigit()
# would also take "²" and "١", which int() refuses or reads.
_BIGINT_KEY = re.compile(r"[0-9]{1,18}")


def bad_page_token() -> InvalidArgument:
    """The error for a token this list did not issue."""
    return InvalidArgument(
        "page_token is not valid",
        reason="invalid_page_token",
        field_violations=[("page_token", "not a token from this list")],
    )


def bigint_key(value: str) -> int:
    """An integer sort key from a token, or :func:`bad_page_token`."""
    if not _BIGINT_KEY.fullmatch(value):
        raise bad_page_token()
    return int(value)
