"""The ``Idempotency-Key`` header of every create (docs/api.md; AIP-155 ``request_id``).

The services keep the keys (``services/common/idempotency.py``, which also holds the one
length limit); the gateway only checks the header's shape and passes it on.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from services.common.idempotency import MAX_REQUEST_ID
from services.gateway.errors import FieldError, ProblemError

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
            422, "validation_failed", errors=[FieldError(IDEMPOTENCY_KEY_HEADER, message)]
        )
    return key


# The proto field that carries the key, as the API names it in a 422's ``errors``.
IDEMPOTENCY_FIELDS = {"request_id": IDEMPOTENCY_KEY_HEADER}
