"""The website's main journey in a real browser: a teacher keeps a class and shares it with a
guardian, who sees it read-only until the teacher revokes the share.

Everything a person does happens in the browser; only mail links are read from the stack's
mail sink, as a person would open them from their inbox.
"""

from __future__ import annotations

import io
import json
import time
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Request, expect

from tests.e2e.browser import browser_page, new_address, sign_up_in_browser
from tests.e2e.mail import mail_link
from tests.e2e.stack import RunningStack, sign_in, sign_up

pytestmark = pytest.mark.e2e

# Enough pixels that the upload takes several progress events, well under the 5 MiB limit.
PHOTO_SIDE = 900


def _photo(path: str) -> str:
    noise = Image.effect_noise((PHOTO_SIDE, PHOTO_SIDE), 90).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    with open(path, "wb") as file:
        file.write(buffer.getvalue())
    return path


def _heading(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def test_teacher_shares_a_class_and_the_guardian_sees_it_until_revoked(
    web_stack: RunningStack, browser: Browser, tmp_path: object
) -> None:
    stack = web_stack
    teacher, guardian = new_address("teacher"), new_address("guardian")
    with browser_page(browser) as (_, page):
        sign_up_in_browser(page, stack, teacher, "teacher", "Ms. Rivera")
        expect(page.get_by_text("Confirm your email")).to_be_visible()
        page.goto(mail_link(stack, teacher, "/verify"))
        expect(page.locator("#status")).to_have_text("Email confirmed")
        page.get_by_role("link", name="Go to TrackCC").click()
        # Still signed in after a full page load: the refresh cookie carried the session.
        expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ms. Rivera")
        expect(page.get_by_text("Confirm your email")).to_have_count(0)

        page.get_by_role("navigation").get_by_role("link", name="Classes").click()
        page.get_by_label("Class name").fill("Class 3B")
        page.get_by_label("Term (optional)").fill("2026 autumn")
        page.get_by_role("button", name="Create class").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Class 3B")

        page.get_by_label("Display name").fill("Alex K.")
        page.get_by_role("button", name="Add student").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Alex K.")

        # The photo: a preview first, then the progress bar fills while it uploads.
        page.get_by_label("Choose a photo").set_input_files(_photo(f"{tmp_path}/alex.png"))
        expect(page.get_by_role("img", name="Preview of the chosen photo")).to_be_visible()
        # Samples the bar on every frame while the upload runs, as an eye would.
        page.evaluate(
            """() => {
                window.seenProgress = [];
                const bar = document.getElementById("upload-progress");
                const sample = () => {
                    if (!bar.hidden) window.seenProgress.push(bar.value);
                    if (bar.value < 1) requestAnimationFrame(sample);
                };
                requestAnimationFrame(sample);
            }"""
        )
        page.get_by_role("button", name="Upload photo").click()
        expect(page.locator("#upload-progress")).to_be_visible()
        expect(page.locator("#upload-progress-text")).to_have_text("Upload complete.")
        assert page.evaluate("document.getElementById('upload-progress').value") == 1
        seen = page.evaluate("window.seenProgress")
        assert seen and seen == sorted(seen), seen
        expect(page.locator("#status")).to_contain_text("Photo saved")

        # Back on the class page the student is listed with a thumbnail.
        page.get_by_role("link", name="Class 3B").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Class 3B")
        expect(page.get_by_role("img", name="Photo of Alex K.")).to_be_visible()
        expect(page.locator("#student-list canvas.loaded")).to_have_count(1)

        page.get_by_role("link", name="Sharing and access log").click()
        page.get_by_label("Their email").fill(guardian)
        page.get_by_label("They may").select_option("viewer")
        page.get_by_label("Their role").select_option("guardian")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.locator("#status")).to_have_text(f"Invitation sent to {guardian}.")
        expect(page.locator("#pending-invitations")).to_contain_text(guardian)
        sharing_url = page.url

        with browser_page(browser) as (_, guest):
            sign_up_in_browser(guest, stack, guardian, "guardian", "Sam (Alex's guardian)")
            guest.goto(mail_link(stack, guardian, "/invitations/accept"))
            expect(guest.locator("#signed-in")).to_have_text(f"Signed in as {guardian}.")
            guest.get_by_role("button", name="Accept").click()
            expect(guest.locator("#status")).to_have_text(
                "Invitation accepted: the roster is shared with you."
            )
            guest.get_by_role("link", name="See what is shared with you").click()
            guest.get_by_role("link", name="Class 3B").click()
            expect(guest.get_by_role("heading", level=1)).to_have_text("Class 3B")
            guest.get_by_role("link", name="Alex K.").click()
            expect(guest.get_by_role("heading", level=1)).to_have_text("Alex K.")
            expect(guest.locator("#student-details")).to_be_visible()
            expect(guest.locator(".badge")).to_have_text("viewer")
            # Read-only: no form, no upload, no delete, no enrollment change.
            for control in ("form", "input", "textarea", "select", "button"):
                expect(guest.locator(f"main {control}")).to_have_count(0)
            guest.get_by_role("link", name="Students").first.click()
            expect(guest.get_by_role("link", name="Alex K.")).to_be_visible()

            # The teacher sees the guardian's views in the access log, then revokes.
            page.goto(sharing_url)
            page.reload()
            log = page.locator("#access-log")
            expect(log).to_contain_text(guardian)
            expect(log).to_contain_text("viewed")
            expect(log).to_contain_text("accepted")
            grants = page.locator("#grants")
            expect(grants).to_contain_text(guardian)
            page.get_by_role("button", name=f"Revoke access of {guardian}").click()
            page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
            expect(page.locator("#status")).to_have_text("Access revoked.")
            expect(page.locator("#grants-empty")).to_have_text("Only you.")

            # The guardian's next navigation finds nothing.
            guest.get_by_role("link", name="Alex K.").click()
            expect(guest.get_by_role("heading", level=1)).to_have_text("Student not found")
            guest.get_by_role("navigation").get_by_role("link", name="Shared with me").click()
            expect(guest.get_by_text("Nothing is shared with you yet.")).to_be_visible()


def test_a_class_page_with_30_students_loads_with_a_handful_of_requests(
    web_stack: RunningStack, browser: Browser
) -> None:
    stack = web_stack
    teacher = new_address("big-class")
    sign_up(stack, teacher)
    token = sign_in(stack, teacher)
    status, _, body = stack.request("POST", "/v1/classes", {"name": "Big class"}, token)
    assert status == 201, body
    class_id = json.loads(body)["id"]
    for number in range(30):
        status, _, body = stack.request(
            "POST",
            "/v1/students",
            {"display_name": f"Student {number:02d}", "class_ids": [class_id]},
            token,
        )
        assert status == 201, body

    with browser_page(browser) as (_, page):
        page.goto(stack.base_url + "/#/signin")
        page.get_by_label("Email").fill(teacher)
        page.get_by_label("Password").fill("correct horse battery staple 42!")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")

        api_calls: list[str] = []

        def record(request: Request) -> None:
            path = urlsplit(request.url).path
            if path.startswith("/v1/"):
                api_calls.append(path)

        page.on("request", record)
        started = time.monotonic()
        page.goto(stack.base_url + "/#/classes/" + class_id)
        expect(page.locator("#student-list li")).to_have_count(30)
        elapsed = time.monotonic() - started
        data_calls = [path for path in api_calls if not path.endswith("/photo")]
        # The class, its students and (for the enroll list) my students; the session
        # refresh of the fresh page load. Never one request per student.
        assert len(data_calls) <= 5, data_calls
        assert elapsed < 10, elapsed
