"""Browser sessions and the account's end in a real browser: staying signed in across a
browser restart and in two tabs at once, the locked-account message and support's unlock,
and account deletion with its receipt."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.e2e.browser import (
    browser_page,
    create_support,
    new_address,
    sign_in_in_browser,
    sign_up_in_browser,
)
from tests.e2e.stack import PASSWORD, RunningStack, sign_up

pytestmark = pytest.mark.e2e

HELLO = "Hello, Robin"


def _hello(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(HELLO)


def test_signed_in_across_a_browser_restart_until_signing_out(
    web_stack: RunningStack, browser: Browser
) -> None:
    stack = web_stack
    address = new_address("restart")
    with browser_page(browser) as (context, page):
        sign_up_in_browser(page, stack, address, "teacher", "Robin")
        cookies = [c for c in context.cookies() if c["name"] == "trackcc_refresh"]
        assert len(cookies) == 1
        cookie = cookies[0]
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/v1/sessions" and cookie["expires"] > 0  # outlives the browser
        # No script can see a token: not in storage, and the cookie is HttpOnly.
        assert page.evaluate("document.cookie") == ""
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0
        saved = context.storage_state()

    # A new browser process with the same profile data: still signed in.
    restarted = browser.new_context(ignore_https_errors=True, storage_state=saved)
    try:
        page = restarted.new_page()
        page.goto(stack.base_url + "/")
        _hello(page)
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("#status")).to_have_text("You are signed out.")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to TrackCC")
        assert [c for c in restarted.cookies() if c["name"] == "trackcc_refresh"] == []
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to TrackCC")
    finally:
        restarted.close()


def test_two_tabs_stay_signed_in_after_a_refresh_and_a_reload(
    web_stack: RunningStack, browser: Browser
) -> None:
    stack = web_stack
    with browser_page(browser) as (context, first):
        sign_up_in_browser(first, stack, new_address("tabs"), "teacher", "Robin")
        second = context.new_page()
        second.goto(stack.base_url + "/")
        _hello(second)

        # The order in which refreshes start and end, as the browser reports them: two that
        # overlapped would send the same single-use cookie.
        events: list[str] = []

        def refresh_event(kind: str) -> Callable[[Request], None]:
            def record(request: Request) -> None:
                if request.url.endswith("/v1/sessions/refresh"):
                    events.append(kind)

            return record

        context.on("request", refresh_event("start"))
        context.on("requestfinished", refresh_event("end"))
        context.on("requestfailed", refresh_event("failed"))

        # Both tabs believe their access token expired at the same moment (their clocks jump
        # past its 15 minutes) and both need the API at once: each refreshes, one after the
        # other (Web Locks), each with the cookie the other left.
        for tab in (first, second):
            tab.clock.install()
        for tab in (first, second):
            tab.clock.fast_forward("16:00")
        for tab in (first, second):
            tab.evaluate("() => { window.location.hash = '#/classes'; }")
        for tab in (first, second):
            expect(tab.get_by_role("heading", level=1)).to_have_text("Classes")
            expect(tab.get_by_text("No classes yet.")).to_be_visible()

        # Both reload at once: each page load refreshes with the shared cookie.
        for tab in (first, second):
            tab.evaluate("() => { window.location.reload(); }")
        for tab in (first, second):
            expect(tab.get_by_role("heading", level=1)).to_have_text("Classes")
            expect(tab.get_by_text("No classes yet.")).to_be_visible()

        # Four refreshes (two tabs, twice), never two at once.
        assert events == ["start", "end"] * 4, events

        # Still the one session, never taken for a stolen token.
        first.get_by_role("navigation").get_by_role("link", name="My account").click()
        expect(first.locator("#session-list li")).to_have_count(1)
        expect(first.locator("#session-list")).to_contain_text("this browser")


def test_ten_wrong_passwords_show_the_locked_message_and_support_unlocks(
    web_stack: RunningStack, browser: Browser
) -> None:
    stack = web_stack
    address = new_address("locked")
    sign_up(stack, address)
    with browser_page(browser) as (_, page):
        page.goto(stack.base_url + "/#/signin")
        page.get_by_label("Email").fill(address)
        problem = page.locator('[data-field="password"] .field-error')

        def attempt(password: str) -> None:
            page.get_by_label("Password").fill(password)
            with page.expect_response(lambda r: r.url.endswith("/v1/sessions")):
                page.get_by_role("button", name="Sign in").click()

        for number in range(9):
            attempt(f"wrong password number {number}")
            expect(problem).to_have_text("the email address or password is wrong")
        # The tenth failure locks the account. docs/api.md: it still answers 401 like the nine
        # before it (issue 11 fixes auth, which answers 423 already); either way the next
        # attempt, with the right password, meets the lock.
        attempt("wrong password number 9")
        attempt(PASSWORD)
        locked = page.locator("#locked")
        expect(locked).to_be_visible()
        expect(locked.get_by_role("heading")).to_have_text("This account is locked")
        expect(locked).to_contain_text("support")
        expect(locked).to_contain_text("follow its link")
        expect(page.get_by_role("navigation")).to_be_hidden()

    support = new_address("support")
    create_support(stack, support)
    with browser_page(browser) as (_, page):
        sign_in_in_browser(page, stack, support)
        page.get_by_role("navigation").get_by_role("link", name="Support").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Support")
        row = page.locator("#locked-accounts li", has_text=address)
        row.get_by_label(f"Reason for unlocking {address}").fill("owner called from the address")
        row.get_by_role("button", name="Unlock").click()
        expect(page.locator("#status")).to_have_text(f"{address} is unlocked.")

    with browser_page(browser) as (_, page):
        sign_in_in_browser(page, stack, address)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def test_deleting_the_account_signs_out_and_shows_the_receipt(
    web_stack: RunningStack, browser: Browser
) -> None:
    stack = web_stack
    address = new_address("leaver")
    with browser_page(browser) as (_, page):
        sign_up_in_browser(page, stack, address, "guardian", "Robin")
        page.get_by_role("navigation").get_by_role("link", name="My account").click()
        form = page.locator("#delete-account-form")
        form.get_by_label("Your password").fill("not my password at all")
        form.get_by_role("button", name="Delete my account").click()
        page.get_by_role("dialog").get_by_role("button", name="Delete my account").click()
        expect(form.locator(".field-error")).to_have_text("the email address or password is wrong")

        form.get_by_label("Your password").fill(PASSWORD)
        form.get_by_role("button", name="Delete my account").click()
        page.get_by_role("dialog").get_by_role("button", name="Delete my account").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your account is deleted")
        receipt = page.locator("#deletion-receipt")
        expect(receipt).to_contain_text("You are signed out")
        expect(receipt).to_contain_text("within a minute")
        expect(page.get_by_role("navigation")).to_be_hidden()
        page.goto(stack.base_url + "/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to TrackCC")

    status, _, _ = stack.request("POST", "/v1/sessions", {"email": address, "password": PASSWORD})
    assert status == 401
