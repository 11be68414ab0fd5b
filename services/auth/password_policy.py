"""docs/api.md's password policy: length, no email local part or product name, zxcvbn strength.

The checks are pure and synchronous (zxcvbn is CPU-bound Python); the servicer runs them in
a worker thread. The result is the NFKC form of the password, which is what gets hashed, so
the same password typed on another keyboard (fullwidth, compatibility characters) matches.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final, NoReturn

from zxcvbn import zxcvbn

from services.common import reasons
from services.common.errors import InvalidArgument

MIN_LENGTH: Final = 8
MAX_LENGTH: Final = 256
# "Guessable" is a zxcvbn estimate under 10^8 guesses (docs/api.md). Not zxcvbn's score 3: that
# needs 10^8 + 5 guesses, and a random 8-character password estimates at exactly 10^8
# (brute force over 10 symbols a position), so no password of the minimum length could
# pass and "at least 8 characters" would be untrue. The score still goes to the client.
MIN_GUESSES_LOG10: Final = 8.0
# zxcvbn's matching grows much faster than linearly (a 256-character repetition takes
# seconds); scoring a prefix bounds the cost at about 70 ms and can only under-estimate
# strength, so it never lets a weaker password through than scoring the whole would.
_SCORED_PREFIX: Final = 72
# NFKC can turn one character into several, or several into one; a raw input this long
# cannot end up within MAX_LENGTH, so it is refused before any Unicode work.
_RAW_LIMIT: Final = MAX_LENGTH * 18
_MIN_LOCAL_PART: Final = 3
_PRODUCT_NAME: Final = "trackcc"

FIELD = "password"


def normalize_password(password: str) -> str:
    """The NFKC form that is hashed and verified."""
    return unicodedata.normalize("NFKC", password)


def too_long(password: str) -> bool:
    """Whether the password is over the accepted length (checked before any hashing)."""
    return len(password) > _RAW_LIMIT or len(normalize_password(password)) > MAX_LENGTH


def check_new_password(password: str, email: str) -> str:
    """The normalized password if the policy accepts it for this (normalized) email.

    Raises InvalidArgument: ``validation_failed`` when it is too long, ``weak_password``
    with the zxcvbn ``score`` and the broken ``rule`` in the metadata otherwise.
    """
    if too_long(password):
        raise InvalidArgument(
            f"password is longer than {MAX_LENGTH} characters",
            field_violations=[(FIELD, f"must be at most {MAX_LENGTH} characters")],
        )
    normalized = normalize_password(password)
    strength = _strength(normalized)
    score = int(strength["score"])
    folded = normalized.casefold()
    local_part = email.partition("@")[0].casefold()
    if len(normalized) < MIN_LENGTH:
        _reject(score, "too_short", f"password must be at least {MIN_LENGTH} characters")
    if len(local_part) >= _MIN_LOCAL_PART and local_part in folded:
        _reject(score, "contains_email", "password must not contain the email address")
    if _PRODUCT_NAME in folded:
        _reject(score, "contains_product_name", f"password must not contain {_PRODUCT_NAME!r}")
    if float(strength["guesses_log10"]) < MIN_GUESSES_LOG10:
        _reject(score, "guessable", _guessable_message(strength))
    return normalized


def _strength(normalized: str) -> dict[str, Any]:
    # No user_inputs: zxcvbn stores them in a module-level dictionary, which concurrent
    # threads would overwrite; the email rule above covers what they would add.
    result: dict[str, Any] = zxcvbn(normalized[:_SCORED_PREFIX], max_length=_SCORED_PREFIX)
    return result


def _guessable_message(strength: dict[str, Any]) -> str:
    feedback = strength.get("feedback") or {}
    parts = ["password is too easy to guess"]
    warning = feedback.get("warning")
    if warning:
        parts.append(str(warning).rstrip("."))
    suggestions = [str(s).rstrip(".") for s in feedback.get("suggestions") or ()]
    parts.extend(suggestions)
    return ". ".join(parts) + "."


def _reject(score: int, rule: str, message: str) -> NoReturn:
    raise InvalidArgument(
        message,
        reason=reasons.WEAK_PASSWORD,
        field_violations=[(FIELD, message)],
        metadata={"score": str(score), "rule": rule},
    )
