"""Every mail the auth service sends: subject, body and link. Never a password.

Links are built from the configured public URL only (never from request data) and their
path names their purpose, as docs/api.md's "The website and mail links" lists them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from services.common import outbox
from services.common.db import DbConnection

SIGNATURE = "\n-- \nTrackCC\n"


@dataclass(frozen=True)
class Mail:
    """One mail to one address."""

    subject: str
    body: str


def link(public_url: str, path: str, token: str) -> str:
    """``{public_url}{path}?token=...``."""
    return f"{public_url}{path}?{urlencode({'token': token})}"


async def send(connection: DbConnection, recipient: str, mail: Mail, now: dt.datetime) -> None:
    """Puts the mail in the outbox; call it in the transaction of its cause."""
    await outbox.enqueue(
        connection,
        recipient=recipient,
        subject=mail.subject,
        body=mail.body + SIGNATURE,
        now=now,
    )


def verification(public_url: str, token: str) -> Mail:
    return Mail(
        "Confirm your email address for TrackCC",
        "Please confirm that this address belongs to your TrackCC account:\n\n"
        f"{link(public_url, '/verify', token)}\n\n"
        "The link works once and expires in 7 days. If you did not sign up, ignore this mail.\n",
    )


def email_change_confirmation(public_url: str, token: str) -> Mail:
    return Mail(
        "Confirm your new email address for TrackCC",
        "Someone asked to use this address for a TrackCC account. To confirm, open:\n\n"
        f"{link(public_url, '/verify', token)}\n\n"
        "The link works once and expires in 7 days. If this was not you, ignore this mail.\n",
    )


def email_change_notice() -> Mail:
    return Mail(
        "Your TrackCC email address is about to change",
        "A change of the email address of your TrackCC account was requested. It takes\n"
        "effect only when the new address is confirmed. If this was not you, change your\n"
        "password and contact support from this address.\n",
    )


def lockout_notice(public_url: str, token: str) -> Mail:
    return Mail(
        "Your TrackCC account is locked",
        "Your TrackCC account was locked after 10 failed sign-in attempts in a row.\n"
        "Nobody can sign in to it, not even with the right password, until support\n"
        "unlocks it. If it was you, or you want it unlocked, ask support with this link:\n\n"
        f"{link(public_url, '/unlock-request', token)}\n\n"
        "Following the link proves that you control this address. It works once and\n"
        "expires in 7 days. A password reset does not unlock the account.\n",
    )


def password_reset_link(public_url: str, token: str) -> Mail:
    return Mail(
        "Reset your TrackCC password",
        "To choose a new password for your TrackCC account, open:\n\n"
        f"{link(public_url, '/reset', token)}\n\n"
        "The link works once and expires in 1 hour. If you did not ask, ignore this mail.\n",
    )


def password_changed() -> Mail:
    return Mail(
        "Your TrackCC password was changed",
        "The password of your TrackCC account was changed and your other sessions were\n"
        "signed out. If this was not you, reset your password and contact support.\n",
    )


def password_was_reset() -> Mail:
    return Mail(
        "Your TrackCC password was reset",
        "The password of your TrackCC account was reset with a link from a reset mail, and\n"
        "every session was signed out. If this was not you, contact support at once.\n",
    )


def deletion_started(now: dt.datetime) -> Mail:
    return Mail(
        "Your TrackCC account is being deleted",
        f"Deletion of your TrackCC account was requested at {_time(now)}. Nobody can sign\n"
        "in to it any more. Its classes, students, photos and shares are being removed; a\n"
        "receipt follows when everything is gone.\n",
    )


def deletion_receipt(
    requested: dt.datetime, finished: dt.datetime, classes: int, students: int
) -> Mail:
    return Mail(
        "Your TrackCC account was deleted",
        f"Your TrackCC account was deleted at {_time(finished)} (requested at\n"
        f"{_time(requested)}). Removed: the account and its sessions, {classes} class(es),\n"
        f"{students} student record(s) with their photos, and every share and invitation\n"
        "from or to the account. This is the last mail TrackCC sends about it.\n",
    )


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
