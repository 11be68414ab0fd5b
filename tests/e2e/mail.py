"""Mail as a person reads it: the newest message to an address, and the link it carries."""

from __future__ import annotations

import collections
import email
import email.policy
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage

from tests.e2e.stack import HttpsClient

MAIL_WAIT_SECONDS = 60.0


def mail_link(stack: HttpsClient, to: str, path: str, newer_than: float = 0.0) -> str:
    """The ``{public URL}{path}?token=T`` link of the newest mail to ``to`` that has one,
    among the files the stack's SMTP sink wrote (modified after ``newer_than``)."""
    pattern = re.compile(re.escape(stack.base_url + path) + r"\?token=[A-Za-z0-9_.~%-]+")
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        for message in _messages(stack, newer_than):
            body = message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            found = pattern.search(text)
            if str(message["To"]) == to and found:
                return found.group(0)
        time.sleep(0.1)  # the outbox worker delivers on its own schedule
    raise AssertionError(f"no mail to {to} with a {path} link within {MAIL_WAIT_SECONDS:g} s")


def mail_count(stack: HttpsClient, addresses: set[str]) -> collections.Counter[str]:
    """How many mails the sink holds for each of ``addresses`` (absent: none)."""
    return collections.Counter(
        str(message["To"]) for message in _messages(stack) if str(message["To"]) in addresses
    )


def _messages(stack: HttpsClient, newer_than: float = 0.0) -> Iterator[EmailMessage]:
    """The sink's mails, newest first (file names sort by arrival time)."""
    for eml in sorted((stack.data_dir / "mail").glob("*.eml"), reverse=True):
        if eml.stat().st_mtime >= newer_than:
            message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            yield message


def token_of(link: str) -> str:
    return link.split("?token=", 1)[1]
