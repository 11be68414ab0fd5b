"""THE email address rule: one validator and one normal form for every address we store,
look up or mail (auth's accounts and support staff, sharing's invitations).

Validation is the ``email-validator`` library's, without DNS: plain ``local@domain`` only. No
display names (``victim<attacker@evil.example>`` would mail the attacker), no quoted or
comment syntax, no lists (``a,b@example.com``), no IP literals, no internationalized local
parts (the operator's SMTP server need not speak SMTPUTF8). Whether an address works is
proven by the mail sent to it, not here. The ``.test`` domains (RFC 6761) are accepted: they
are what tests and staging use, and a mail to one fails like any undeliverable address.

The normal form is the ASCII address (an internationalized domain in its IDNA form),
lower-cased, which is what the columns hold and what lookups compare.
"""

from __future__ import annotations

from typing import Final

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH: Final = 254
INVALID: Final = "is not a valid email address"


class InvalidEmail(ValueError):
    """An address that the rule refuses; the message says why, without quoting it."""


def normalize_email(raw: str) -> str:
    """The normal form of a valid address; :class:`InvalidEmail` otherwise."""
    text = raw.strip()
    if not text:
        raise InvalidEmail("is required")
    if len(text) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"must be at most {MAX_EMAIL_LENGTH} characters")
    try:
        checked = validate_email(
            text,
            check_deliverability=False,  # no DNS lookups, ever
            allow_smtputf8=False,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            test_environment=True,
        )
    except EmailNotValidError:
        raise InvalidEmail(INVALID) from None
    ascii_email = checked.ascii_email
    if ascii_email is None:  # only with SMTPUTF8, which is refused above
        raise InvalidEmail(INVALID)
    return ascii_email.lower()


def email_problem(raw: str) -> str | None:
    """Why an address is refused, or None."""
    try:
        normalize_email(raw)
    except InvalidEmail as error:
        return str(error)
    return None


def lookup_form(raw: str) -> str:
    """The form to look an address up by: the normal form, or (for an address the rule
    refuses, which no account or invitation can hold) the trimmed lower-case text, so that
    sign-in and reset answer as for any unknown address."""
    try:
        return normalize_email(raw)
    except InvalidEmail:
        return raw.strip().lower()
