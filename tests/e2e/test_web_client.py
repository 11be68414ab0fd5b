"""The web client in a real browser against the local stack, as a user who follows mail links.

Debian's Chromium (``/usr/bin/chromium``, installed by ``make browser``) is driven by
Playwright; Playwright's own browser download is never used. Accounts are made and checked
through the API; only what a person does with a mail link happens in the browser.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.e2e.stack import (
    PASSWORD,
    RunningStack,
    running_stack,
    sign_in,
    sign_up,
    temporary_data_dir,
)

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# Headless on a machine with no GPU and a closed network: without the background-networking
# flags Chromium keeps trying to reach Google's hosts. Playwright gives every launch a fresh,
# empty profile directory of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAIL_WAIT_SECONDS = 30.0
NEW_PASSWORD = "a brand new passphrase, long enough 7!"


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with temporary_data_dir() as data_dir, running_stack(data_dir, "web") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        # Never a skip: `make test` installs it, so a missing browser is a broken machine.
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # The stack's certificate comes from its own dev CA, which this throwaway profile does not
    # know; the API calls of these tests check it against <data dir>/tls/ca.pem instead.
    context = browser.new_context(ignore_https_errors=True)
    opened = context.new_page()
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        # A CSP violation or a script error shows up here: the pages must run without either.
        # An API error answer is logged as a failed load; those are expected and checked.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    opened.on("console", console)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield opened
        assert errors == []
    finally:
        context.close()


def mail_link(stack: RunningStack, to: str, path: str) -> str:
    """The ``{public URL}{path}?token=T`` link of the newest mail to ``to`` that has one."""
    pattern = re.compile(re.escape(stack.base_url + path) + r"\?token=[A-Za-z0-9_.~%-]+")
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        for eml in sorted((stack.data_dir / "mail").glob("*.eml"), reverse=True):
            message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            body = message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            found = pattern.search(text)
            if str(message["To"]) == to and found:
                return found.group(0)
        time.sleep(0.1)  # the outbox worker delivers on its own schedule
    pytest.fail(f"no mail to {to} with a {path} link within {MAIL_WAIT_SECONDS} s")


def test_the_verification_link_confirms_the_email(
    stack: RunningStack, page: Page, tmp_path: Path
) -> None:
    address = f"web-{uuid.uuid4().hex[:10]}@example.com"
    sign_up(stack, address)
    link = mail_link(stack, address, "/verify")

    page.goto(link)
    expect(page.locator("#status")).to_have_text("Email confirmed")
    # The token was taken out of the address bar once read.
    assert page.url == stack.base_url + "/verify"
    page.screenshot(path=str(tmp_path / "verify.png"))

    status, _, body = stack.request("GET", "/v1/me", token=sign_in(stack, address))
    assert status == 200, body
    assert json.loads(body)["email_verified"] is True

    # The same link again: the token is spent, and the page says what the API said.
    page.goto(link)
    expect(page.locator("#status")).to_have_class("error")
    expect(page.locator("#status")).to_contain_text("invalid, used or expired")


def test_the_reset_link_sets_a_new_password(
    stack: RunningStack, page: Page, tmp_path: Path
) -> None:
    address = f"web-{uuid.uuid4().hex[:10]}@example.com"
    sign_up(stack, address)
    status, _, body = stack.request("POST", "/v1/password/forgot", {"email": address})
    assert status == 202, body

    page.goto(mail_link(stack, address, "/reset"))
    assert page.url == stack.base_url + "/reset"

    # Mismatch is caught in the page; a weak password gets the API's own detail.
    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#confirm-password", NEW_PASSWORD + "x")
    page.click("#reset-form button")
    expect(page.locator("#status")).to_have_text("The two passwords do not match.")
    page.fill("#new-password", "password")
    page.fill("#confirm-password", "password")
    page.click("#reset-form button")
    expect(page.locator("#status")).to_have_class("error")
    expect(page.locator("#status")).to_contain_text("too easy to guess")

    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#confirm-password", NEW_PASSWORD)
    page.click("#reset-form button")
    expect(page.locator("#status")).to_have_text(
        "Password changed: sign in with your new password."
    )
    expect(page.locator("#reset-form")).to_be_hidden()
    page.screenshot(path=str(tmp_path / "reset.png"))

    status, _, body = stack.request(
        "POST", "/v1/sessions", {"email": address, "password": NEW_PASSWORD}
    )
    assert status == 200, body
    status, _, _ = stack.request("POST", "/v1/sessions", {"email": address, "password": PASSWORD})
    assert status == 401
