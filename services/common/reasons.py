"""The one registry of reason codes: each stable API code, its HTTP status and default detail.

A service raises a :class:`~services.common.errors.ServiceError` with one of these codes as its
``ErrorInfo.reason``; the gateway (``gateway/errors.py``) answers it over HTTP with the status
and detail registered here. ``http_status`` None means "the status of the gRPC code"
(``gateway/errors.py`` holds that table); ``passes_detail`` says whether the service's own
message reaches the client (it tells the client about its own request) or the generic detail
is sent instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    """One stable problem code."""

    code: str
    http_status: int | None
    detail: str | None
    passes_detail: bool


_REGISTRY: dict[str, Reason] = {}


def _reason(
    code: str, http_status: int | None = None, detail: str | None = None, *, passes: bool = True
) -> str:
    _REGISTRY[code] = Reason(code, http_status, detail, passes)
    return code


# The codes of the gRPC status table, and the gateway's own.
VALIDATION_FAILED = _reason("validation_failed", detail="The request has invalid fields.")
NOT_FOUND = _reason("not_found", detail="The requested resource does not exist.")
ALREADY_EXISTS = _reason("already_exists")
FORBIDDEN = _reason("forbidden", detail="You may not do this.")
UNAUTHENTICATED = _reason("unauthenticated", detail="A valid access token is required.")
FAILED_PRECONDITION = _reason("failed_precondition")
CONFLICT = _reason("conflict", detail="The request conflicts with the current state.")
RATE_LIMITED = _reason("rate_limited", 429, "Too many requests; try again later.")
INTERNAL = _reason("internal", detail="An internal error occurred.", passes=False)
NOT_IMPLEMENTED = _reason(
    "not_implemented", detail="This operation is not available yet.", passes=False
)
UNAVAILABLE = _reason(
    "unavailable", detail="A backend service is unavailable; try again later.", passes=False
)
TIMEOUT = _reason("timeout", detail="A backend service did not answer in time.", passes=False)
METHOD_NOT_ALLOWED = _reason(
    "method_not_allowed", detail="The resource does not support this method.", passes=False
)
PAYLOAD_TOO_LARGE = _reason(
    "payload_too_large", detail="The request body is too large.", passes=False
)
MALFORMED_JSON = _reason(
    "malformed_json", detail="The request body is not valid JSON.", passes=False
)
BAD_ORIGIN = _reason(
    "bad_origin",
    detail="The refresh cookie is accepted only from the TrackCC website itself.",
    passes=False,
)
INVALID_PAGE_TOKEN = _reason("invalid_page_token", 400)

# Tokens, accounts and sessions (auth).
INVALID_TOKEN = _reason("invalid_token", detail="The token is invalid or has expired.")
INVALID_CREDENTIALS = _reason("invalid_credentials", 401)
ACCOUNT_LOCKED = _reason("account_locked", 423)
WEAK_PASSWORD = _reason("weak_password", 422)
EMAIL_TAKEN = _reason("email_taken", 409)
# A service may not call this method (its certificate's name is not allowed).
CALLER_NOT_ALLOWED = _reason("caller_not_allowed", passes=False)

# Invitations and grants (sharing).
INVITATION_EXPIRED = _reason("invitation_expired", 410)
INVITATION_REVOKED = _reason("invitation_revoked", 410)
INVITATION_USED = _reason("invitation_used", 410)
EMAIL_MISMATCH = _reason("email_mismatch", 403)
ALREADY_SHARED = _reason("already_shared", 409)
# A reader tried an owner's action; an invitation to that address is pending.
NOT_OWNER = _reason("not_owner")
ALREADY_INVITED = _reason("already_invited")

# Roster: enrolling in another owner's class; a photo over the size limit is the client's
# body, not a quota (RESOURCE_EXHAUSTED is otherwise 429); a file that is not one of the
# accepted image types is a media type error. The photo detail is written in
# gateway/errors.py from the limit itself (services/common/photo_limits.py).
# Roster could not reach sharing to check (a server-side failure: the generic detail).
SHARING_UNAVAILABLE = _reason("sharing_unavailable", passes=False)
DIFFERENT_OWNER = _reason("different_owner", 403)
PHOTO_TOO_LARGE = _reason("photo_too_large", 413)
UNSUPPORTED_MEDIA_TYPE = _reason(
    "unsupported_media_type", 415, "The request body must be application/json."
)
INVALID_IMAGE = _reason("invalid_image", 422, "The image is corrupt or has too many pixels.")

# Idempotency keys (services/common/idempotency.py).
IDEMPOTENCY_KEY_REUSED = _reason(
    "idempotency_key_reused", 422, "This Idempotency-Key was used with a different request."
)
REQUEST_IN_PROGRESS = _reason(
    "request_in_progress", 409, "A request with this Idempotency-Key is still running."
)

REGISTRY: Mapping[str, Reason] = _REGISTRY
