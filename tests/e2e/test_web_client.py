"""The website's mail-link pages in a real browser against the local stack: a person follows
the verification and reset links. Accounts are made and checked through the API; only what a
person does with a mail link happens in the browser."""

from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import browser_page
from tests.e2e.mail import mail_link
from tests.e2e.stack import PASSWORD, RunningStack, sign_in, sign_up

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a brand new passphrase, long enough 7!"


def test_the_verification_link_confirms_the_email(
    web_stack: RunningStack, browser: Browser
) -> None:
    stack = web_stack
    address = f"web-{uuid.uuid4().hex[:10]}@example.com"
    sign_up(stack, address)
    link = mail_link(stack, address, "/verify")

    with browser_page(browser) as (_, page):
        page.goto(link)
        expect(page.locator("#status")).to_have_text("Email confirmed")
        # The token was taken out of the address bar once read.
        assert page.url == stack.base_url + "/verify"

        status, _, body = stack.request("GET", "/v1/me", token=sign_in(stack, address))
        assert status == 200, body
        assert json.loads(body)["email_verified"] is True

        # The same link again: the token is spent, and the page says what the API said.
        page.goto(link)
        expect(page.locator("#status")).to_have_class("error")
        expect(page.locator("#status")).to_contain_text("invalid, used or expired")


def test_the_reset_link_sets_a_new_password(web_stack: RunningStack, browser: Browser) -> None:
    stack = web_stack
    address = f"web-{uuid.uuid4().hex[:10]}@example.com"
    sign_up(stack, address)
    status, _, body = stack.request("POST", "/v1/password/forgot", {"email": address})
    assert status == 202, body

    with browser_page(browser) as (_, page):
        page.goto(mail_link(stack, address, "/reset"))
        assert page.url == stack.base_url + "/reset"
        new, again = page.locator("#new-password"), page.locator("#confirm-password")
        submit = page.get_by_role("button", name="Set the new password")

        # A mismatch is caught in the page; a weak password gets the API's own detail, shown
        # next to the field it is about.
        new.fill(NEW_PASSWORD)
        again.fill(NEW_PASSWORD + "x")
        submit.click()
        expect(page.locator('[data-field="confirm"] .field-error')).to_have_text(
            "The two passwords do not match."
        )
        new.fill("password")
        again.fill("password")
        submit.click()
        expect(page.locator('[data-field="new_password"] .field-error')).to_contain_text(
            "too easy to guess"
        )
        expect(new).to_be_focused()

        new.fill(NEW_PASSWORD)
        again.fill(NEW_PASSWORD)
        submit.click()
        expect(page.locator("#status")).to_have_text(
            "Password changed: sign in with your new password."
        )
        expect(page.locator("#reset-form")).to_be_hidden()

    status, _, body = stack.request(
        "POST", "/v1/sessions", {"email": address, "password": NEW_PASSWORD}
    )
    assert status == 200, body
    status, _, _ = stack.request("POST", "/v1/sessions", {"email": address, "password": PASSWORD})
    assert status == 401
