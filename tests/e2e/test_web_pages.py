"""Every main page of the website: an axe-core audit (no serious or critical violation), no
sideways scrolling on a 360 px phone, keyboard use, and the README's screenshots.

axe-core comes inside the PyPI wheel ``axe-playwright-python`` (``axe.min.js``), so the audit
needs no network. The screenshots are written to ``docs/screenshots/`` on every run, so the
README always shows the current pages.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.browser import DESKTOP, PHONE, browser_page, create_support
from tests.e2e.mail import mail_link
from tests.e2e.stack import PASSWORD, REPO, RunningStack, sign_in, sign_up

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO / "docs" / "screenshots"
MAX_SCREENSHOT_BYTES = 200_000
BLOCKING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Demo:
    """A teacher's roster shared with a guardian, made through the API."""

    teacher: str
    guardian: str
    support: str
    class_id: str
    student_id: str


def _call(stack: RunningStack, method: str, path: str, token: str, body: Any = None) -> Any:
    status, _, raw = stack.request(method, path, body, token)
    assert 200 <= status < 300, (path, raw)
    return json.loads(raw) if raw else None


def _png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 240), color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def demo(web_stack: RunningStack) -> Demo:
    stack = web_stack
    # Fixed addresses (the stack is new for every run) keep the screenshots stable.
    teacher, guardian = "ms.rivera@example.com", "sam.guardian@example.com"
    sign_up(stack, teacher)
    sign_up(stack, guardian)
    for address in (teacher, guardian):
        verify = mail_link(stack, address, "/verify")
        status, _, raw = stack.request(
            "POST", "/v1/accounts/verify", {"token": verify.split("token=")[1]}
        )
        assert status == 204, raw
    token = sign_in(stack, teacher)
    _call(stack, "PATCH", "/v1/me", token, {"display_name": "Ms. Rivera"})
    klass = _call(stack, "POST", "/v1/classes", token, {"name": "Class 3B", "term": "2026 autumn"})
    students = []
    for name, color in (
        ("Alex K.", (214, 96, 77)),
        ("Bea M.", (67, 147, 195)),
        ("Chen L.", (90, 174, 97)),
    ):
        student = _call(
            stack, "POST", "/v1/students", token, {"display_name": name, "class_ids": [klass["id"]]}
        )
        status, _, raw = stack.request(
            "PUT",
            f"/v1/students/{student['id']}/photo",
            token=token,
            raw=_png(color),
            headers={"Content-Type": "image/png"},
        )
        assert status == 200, raw
        students.append(student)
    invite = {"email": guardian, "relation": "viewer", "role": "guardian"}
    _call(stack, "POST", f"/v1/classes/{klass['id']}/invitations", token, invite)
    accept_link = mail_link(stack, guardian, "/invitations/accept")
    guardian_token = sign_in(stack, guardian)
    _call(
        stack,
        "POST",
        "/v1/invitations/accept",
        guardian_token,
        {"token": accept_link.split("token=")[1]},
    )
    _call(stack, "GET", f"/v1/students/{students[0]['id']}", guardian_token)  # a view for the log
    pending = {"email": "advisor@example.com", "relation": "editor", "role": "advisor"}
    _call(stack, "POST", f"/v1/classes/{klass['id']}/invitations", token, pending)
    support = "support@example.com"
    create_support(stack, support)
    # A locked account whose owner asked for an unlock, for the support page.
    locked = "locked.owner@example.com"
    sign_up(stack, locked)
    for attempt in range(10):
        wrong = {"email": locked, "password": f"not it {attempt}"}
        assert stack.request("POST", "/v1/sessions", wrong)[0] in (401, 423)
    unlock = mail_link(stack, locked, "/unlock-request").split("token=")[1]
    assert stack.request("POST", "/v1/unlock-requests", {"token": unlock})[0] == 202
    return Demo(teacher, guardian, support, klass["id"], students[0]["id"])


def _signed_in(
    browser: Browser, stack: RunningStack, address: str, viewport: Any
) -> BrowserContext:
    context = browser.new_context(ignore_https_errors=True, viewport=viewport)
    page = context.new_page()
    page.goto(stack.base_url + "/#/signin")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    page.close()
    return context


def _pages(demo: Demo) -> list[tuple[str, str, str]]:
    """(name, who, path) of each main page; who: anonymous, teacher, guardian or support."""
    return [
        ("sign-in", "anonymous", "/#/signin"),
        ("sign-up", "anonymous", "/#/signup"),
        ("forgot-password", "anonymous", "/#/forgot"),
        ("reset-password", "anonymous", "/reset?token=from-the-mail"),
        ("invitation", "anonymous", "/invitations/accept?token=from-the-mail"),
        ("account-deleted", "anonymous", "/#/deleted"),
        ("home", "teacher", "/#/"),
        ("classes", "teacher", "/#/classes"),
        ("class", "teacher", f"/#/classes/{demo.class_id}"),
        ("students", "teacher", "/#/students"),
        ("student", "teacher", f"/#/students/{demo.student_id}"),
        ("sharing", "teacher", f"/#/classes/{demo.class_id}/sharing"),
        ("invitations", "teacher", "/#/invitations"),
        ("account", "teacher", "/#/account"),
        ("shared-with-me", "guardian", "/#/shared"),
        ("student-shared", "guardian", f"/#/students/{demo.student_id}"),
        ("support", "support", "/#/support"),
    ]


def _settle(page: Page) -> None:
    # A view appears whole once its data is in (the heading comes with it); then its
    # pictures, each loaded or known missing.
    expect(page.get_by_role("heading", level=1)).not_to_have_text("")
    expect(page.locator("canvas[data-src]:not(.loaded):not(.missing)")).to_have_count(0)


def _save(page: Page, name: str) -> None:
    # An adaptive palette keeps a page's flat colours exact and the file small.
    image = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    small = image.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    path = SCREENSHOTS / f"{name}.png"
    small.save(path, optimize=True)
    assert path.stat().st_size < MAX_SCREENSHOT_BYTES, path


@pytest.fixture(scope="module")
def contexts(
    browser: Browser, web_stack: RunningStack, demo: Demo
) -> Iterator[dict[str, BrowserContext]]:
    made = {
        "anonymous": browser.new_context(ignore_https_errors=True, viewport=DESKTOP),
        "teacher": _signed_in(browser, web_stack, demo.teacher, DESKTOP),
        "guardian": _signed_in(browser, web_stack, demo.guardian, DESKTOP),
        "support": _signed_in(browser, web_stack, demo.support, DESKTOP),
    }
    try:
        yield made
    finally:
        for context in made.values():
            context.close()


def test_every_main_page_passes_axe_fits_a_phone_and_is_photographed(
    web_stack: RunningStack, demo: Demo, contexts: dict[str, BrowserContext]
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    problems: list[str] = []
    for name, who, path in _pages(demo):
        page = contexts[who].new_page()
        try:
            page.goto(web_stack.base_url + path)
            _settle(page)
            for violation in axe.run(page).response["violations"]:
                if violation["impact"] in BLOCKING_IMPACTS:
                    nodes = [node["target"] for node in violation["nodes"]]
                    problems.append(f"{name}: {violation['id']} {violation['help']} {nodes}")
            _save(page, f"{name}-desktop")
            # The same page on a phone: the layout follows the width, no reload needed.
            page.set_viewport_size(PHONE)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(f"{name}: {width} px wide on a {PHONE['width']} px phone")
            _save(page, f"{name}-phone")
        finally:
            page.close()
    assert problems == []
    total = sum(path.stat().st_size for path in SCREENSHOTS.glob("*.png"))
    assert total < 3_000_000, total


def test_sign_in_works_with_the_keyboard_alone(
    web_stack: RunningStack, browser: Browser, demo: Demo
) -> None:
    with browser_page(browser) as (_, page):
        page.goto(web_stack.base_url + "/#/signin")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to TrackCC")
        page.keyboard.press("Tab")  # the skip link comes first
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        email = page.get_by_label("Email")
        email.focus()
        page.keyboard.type(demo.teacher)
        page.keyboard.press("Tab")
        expect(page.get_by_label("Password")).to_be_focused()
        # Focus is visible: the focused field draws an outline.
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ms. Rivera")
        # After a navigation focus moves to the content, so the next Tab reaches its links.
        expect(page.locator("main")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.locator("main .cards a").first).to_be_focused()
