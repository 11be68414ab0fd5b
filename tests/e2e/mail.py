"""Mail as a person reads it: the newest message to an address, and the link it carries."""

from __future__ import annotations

import email
import email.policy
import re
import time

from tests.e2e.stack import HttpsClient

MAIL_WAIT_SECONDS = 60.0


def mail_link(stack: HttpsClient, to: str, path: str, newer_than: float = 0.0) -> str:
    """The ``{public URL}{path}?token=T`` link of the newest mail to ``to`` that has one,
    among the files the stack's SMTP sink wrote (modified after ``newer_than``)."""
    pattern = re.compile(re.escape(stack.base_url + path) + r"\?token=[A-Za-z0-9_.~%-]+")
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        for eml in sorted((stack.data_dir / "mail").glob("*.eml"), reverse=True):
            if eml.stat().st_mtime < newer_than:
                continue
            message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            body = message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            found = pattern.search(text)
            if str(message["To"]) == to and found:
                return found.group(0)
        time.sleep(0.1)  # the outbox worker delivers on its own schedule
    raise AssertionError(f"no mail to {to} with a {path} link within {MAIL_WAIT_SECONDS:g} s")


def token_of(link: str) -> str:
    return link.split("?token=", 1)[1]
