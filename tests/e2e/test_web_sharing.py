"""Sharing a student in the website: resending and revoking a pending invitation, and an
invitee who signs in on the invitation page itself and declines."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import browser_page, new_address, sign_in_in_browser
from tests.e2e.mail import mail_link
from tests.e2e.stack import PASSWORD, RunningStack, sign_in, sign_up

pytestmark = pytest.mark.e2e


def test_invitations_are_resent_revoked_and_declined(
    web_stack: RunningStack, browser: Browser
) -> None:
    stack = web_stack
    teacher, first, second = new_address("sharer"), new_address("aunt"), new_address("uncle")
    for address in (teacher, second):
        sign_up(stack, address)
    status, _, body = stack.request(
        "POST", "/v1/students", {"display_name": "Jo W."}, sign_in(stack, teacher)
    )
    assert status == 201, body
    assert json.loads(body)["display_name"] == "Jo W."

    with browser_page(browser) as (_, page):
        sign_in_in_browser(page, stack, teacher)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
        page.get_by_role("navigation").get_by_role("link", name="Students").click()
        page.get_by_role("link", name="Jo W.").click()
        page.get_by_role("link", name="Sharing and access log").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sharing Jo W.")

        def invite(address: str) -> None:
            page.get_by_label("Their email").fill(address)
            page.get_by_label("Access ends on (optional)").fill("2031-07-31")
            page.get_by_role("button", name="Send invitation").click()
            expect(page.locator("#status")).to_have_text(f"Invitation sent to {address}.")

        invite(first)
        first_link = mail_link(stack, first, "/invitations/accept")
        pending = page.locator("#pending-invitations")
        expect(pending).to_contain_text(first)
        page.get_by_role("button", name=f"Resend the invitation to {first}").click()
        expect(page.locator("#status")).to_contain_text("Sent again")
        page.get_by_role("button", name=f"Revoke the invitation to {first}").click()
        expect(page.locator("#status")).to_have_text("Invitation revoked.")
        expect(pending).to_have_count(0)
        status, _, _ = stack.request(
            "POST", "/v1/invitations/accept", {"token": first_link.split("token=")[1]}
        )
        assert status in (400, 401, 410)

        # A malformed address: the API's problem shows next to the email field.
        page.get_by_label("Their email").fill("not an address")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.locator('#invite-form [data-field="email"] .field-error')).not_to_be_empty()
        invite(second)

    with browser_page(browser) as (_, page):
        page.goto(mail_link(stack, second, "/invitations/accept"))
        assert page.url == stack.base_url + "/invitations/accept"
        page.get_by_label("Email").fill(second)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#signed-in")).to_have_text(f"Signed in as {second}.")
        page.get_by_role("button", name="Decline").click()
        expect(page.locator("#status")).to_have_text("Invitation declined.")
        page.goto(stack.base_url + "/#/shared")
        expect(page.get_by_text("Nothing is shared with you yet.")).to_be_visible()
