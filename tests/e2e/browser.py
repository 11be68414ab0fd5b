"""The browser tests' shared pieces: one stack and one Chromium for all of them, pages that
fail on any script or CSP error, mail links from the stack's sink, and sign-up in the UI.

Debian's Chromium (``/usr/bin/chromium``, installed by ``make browser``) is driven by
Playwright; Playwright's own browser download is never used.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, ViewportSize, expect

from tests.e2e.stack import PASSWORD, REPO, RunningStack, stack_env

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
# Browser tests sign in far more often than one person: the per-address limit would stop
# them, and it is tested on its own elsewhere. The lockout rule does not depend on it.
STACK_ENV = {"TRACKCC_RATE_LIMIT_PER_MINUTE": "10000"}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}


def new_address(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@contextmanager
def browser_page(
    browser: Browser, viewport: ViewportSize | None = None
) -> Iterator[tuple[BrowserContext, Page]]:
    """A fresh profile (its own cookies) and a page in it that must see no script error."""
    # The stack's certificate comes from its own dev CA, which this throwaway profile does not
    # know; the API calls of these tests check it against <data dir>/tls/ca.pem instead.
    context = browser.new_context(ignore_https_errors=True, viewport=viewport or DESKTOP)
    errors: list[str] = []

    def watch(page: Page) -> None:
        def console(message: ConsoleMessage) -> None:
            # A CSP violation or a script error shows up here. An API error answer is logged
            # as a failed load; those are expected and checked by the tests themselves.
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                errors.append(message.text)

        page.on("console", console)
        page.on("pageerror", lambda error: errors.append(str(error)))

    context.on("page", watch)
    page = context.new_page()
    try:
        yield context, page
        assert errors == []
    finally:
        context.close()


def sign_up_in_browser(
    page: Page,
    stack: RunningStack,
    address: str,
    role: str,
    display_name: str,
    photo: Path | None = None,
) -> None:
    """Signs up from the home page as a newcomer would; ends signed in on the home page."""
    page.goto(stack.base_url + "/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("I am a").select_option(role)
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    if photo is not None:
        page.get_by_label("Photo (optional)").set_input_files(photo)
        expect(page.get_by_role("img", name="Photo preview")).to_be_visible()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {display_name}")


def create_support(stack: RunningStack, address: str) -> None:
    """Support staff, made as an operator makes them: ``trackcc-admin create-support``."""
    subprocess.run(
        [str(Path(sys.executable).parent / "trackcc-admin"), "create-support", "--email", address],
        input=PASSWORD + "\n",
        text=True,
        cwd=REPO,
        env=stack_env(stack.data_dir, stack.port),
        check=True,
        capture_output=True,
        timeout=120,
    )


def sign_in_in_browser(
    page: Page, stack: RunningStack, address: str, password: str = PASSWORD
) -> None:
    page.goto(stack.base_url + "/#/signin")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
