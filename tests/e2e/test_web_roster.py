"""Keeping a roster in the website: classes and students created, renamed, enrolled,
unenrolled and deleted (with a confirmation), problems shown next to their field, and the
account page's own forms and export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, expect

from tests.e2e.browser import browser_page, new_address, sign_up_in_browser
from tests.e2e.stack import PASSWORD, RunningStack, sign_in

pytestmark = pytest.mark.e2e


def test_classes_and_students_from_creation_to_deletion(
    web_stack: RunningStack, browser: Browser
) -> None:
    with browser_page(browser) as (_, page):
        sign_up_in_browser(page, web_stack, new_address("roster"), "teacher", "Mr. Okafor")
        page.get_by_role("link", name="Classes").first.click()
        expect(page.get_by_text("No classes yet.")).to_be_visible()

        # The API's problem shows next to the field it names.
        page.get_by_role("button", name="Create class").click()
        name_error = page.locator('#new-class-form [data-field="name"] .field-error')
        expect(name_error).not_to_be_empty()
        expect(page.get_by_label("Class name")).to_be_focused()

        page.get_by_label("Class name").fill("Art club")
        page.get_by_role("button", name="Create class").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Art club")
        rename = page.locator("#rename-class-form")
        rename.get_by_label("Class name").fill("Art club 2")
        rename.get_by_label("Term").fill("spring")
        rename.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Art club 2")
        expect(page.locator("#status")).to_have_text("Saved.")

        page.get_by_role("navigation").get_by_role("link", name="Students").click()
        # The class page has a "Display name" field too: fill the Students page's, not that one.
        expect(page.get_by_role("heading", level=1)).to_have_text("Students")
        page.get_by_label("Display name").fill("Dana P.")
        page.get_by_label("Birth date (optional)").fill("2015-04-02")
        page.get_by_label("Notes (optional)").fill("Left-handed scissors")
        page.get_by_role("button", name="Add student").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Dana P.")
        edit = page.locator("#edit-student-form")
        expect(edit.get_by_label("Notes (optional)")).to_have_value("Left-handed scissors")
        edit.get_by_label("Gender (optional)").fill("girl")
        edit.get_by_role("button", name="Save").click()
        expect(page.locator("#status")).to_have_text("Saved.")

        enroll = page.locator("#enroll-form")
        enroll.get_by_label("Class").select_option(label="Art club 2")
        enroll.get_by_role("button", name="Enroll").click()
        expect(page.locator("#enrollments")).to_contain_text("Art club 2")
        page.locator("#enrollments").get_by_role("link", name="Art club 2").click()
        expect(page.locator("#student-list")).to_contain_text("Dana P.")
        page.get_by_role("button", name="Unenroll Dana P.").click()
        expect(page.locator("#status")).to_have_text("Dana P. left the class.")
        expect(page.get_by_text("No students in this class yet.")).to_be_visible()

        page.get_by_role("navigation").get_by_role("link", name="Students").click()
        page.get_by_role("link", name="Dana P.").click()
        page.get_by_role("button", name="Delete student").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Delete Dana P. and their photo?")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
        expect(page.get_by_role("heading", level=1)).to_have_text("Dana P.")
        page.get_by_role("button", name="Delete student").click()
        page.get_by_role("dialog").get_by_role("button", name="Delete student").click()
        expect(page.locator("#status")).to_have_text("Student deleted.")
        expect(page.get_by_text("No students yet.")).to_be_visible()

        page.get_by_role("navigation").get_by_role("link", name="Classes").click()
        page.get_by_role("link", name="Art club 2").click()
        page.get_by_role("button", name="Delete class").click()
        page.keyboard.press("Escape")  # the dialog closes on Escape, deleting nothing
        expect(page.get_by_role("dialog")).to_have_count(0)
        page.get_by_role("button", name="Delete class").click()
        page.get_by_role("dialog").get_by_role("button", name="Delete class").click()
        expect(page.locator("#status")).to_have_text("Class deleted.")
        expect(page.get_by_text("No classes yet.")).to_be_visible()


def test_my_account_forms_sessions_and_export(
    web_stack: RunningStack, browser: Browser, tmp_path: Path
) -> None:
    address = new_address("account")
    photo = tmp_path / "me.png"
    Image.new("RGB", (300, 200), (40, 120, 90)).save(photo)
    with browser_page(browser) as (_, page):
        sign_up_in_browser(page, web_stack, address, "teacher", "Robin", photo=photo)
        sign_in(web_stack, address)  # a second session, as from a phone
        page.get_by_role("navigation").get_by_role("link", name="My account").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("My account")
        # The photo chosen at sign-up is the account's own.
        expect(page.locator("canvas.loaded[aria-label='Your photo']")).to_be_visible()

        profile = page.locator("#profile-form")
        profile.get_by_label("Display name").fill("Robin T.")
        profile.get_by_role("button", name="Save profile").click()
        expect(page.locator("#status")).to_have_text("Profile saved.")

        password = page.locator("#password-form")
        password.get_by_label("Current password").fill(PASSWORD)
        password.get_by_label("New password").fill("password1")
        password.get_by_role("button", name="Change password").click()
        expect(password.locator('[data-field="new_password"] .field-error')).to_contain_text(
            "too easy to guess"
        )

        change = page.locator("#email-form")
        change.get_by_label("New email").fill(new_address("moved"))
        change.get_by_label("Your password").fill("not the password")
        change.get_by_role("button", name="Change email").click()
        expect(change.locator('[data-field="password"] .field-error')).to_have_text(
            "the email address or password is wrong"
        )

        sessions = page.locator("#session-list li")
        expect(sessions).to_have_count(2)
        page.get_by_role("button", name="Sign out there").click()
        expect(page.locator("#status")).to_have_text("That session is signed out.")
        expect(sessions).to_have_count(1)
        expect(sessions).to_contain_text("this browser")
        with page.expect_download() as downloaded:
            page.get_by_role("button", name="Download my data").click()
        exported = json.loads(Path(downloaded.value.path()).read_text())
        assert address in json.dumps(exported)
        assert downloaded.value.suggested_filename == "trackcc-export.json"

        page.get_by_role("button", name="Sign out everywhere").click()
        expect(page.locator("#status")).to_have_text("You are signed out on every device.")
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to TrackCC")
