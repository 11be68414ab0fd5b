"""Fixtures of the browser tests: one local stack and one Chromium, shared by every module
that asks for them (starting a stack costs far more than all the checks of one module).
Package-scoped, so both stop when the e2e tests end rather than run on beside the rest of
the suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, STACK_ENV
from tests.e2e.stack import RunningStack, running_stack, temporary_data_dir


@pytest.fixture(scope="package")
def web_stack() -> Iterator[RunningStack]:
    with temporary_data_dir() as data_dir, running_stack(data_dir, "web", STACK_ENV) as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        # Never a skip: `make test` installs it, so a missing browser is a broken machine.
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    # Two cores shared with a whole stack: a view can take longer than Playwright's default
    # five seconds to appear when the machine is busy, without anything being wrong.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
