"""The web client's pages and assets over HTTPS: content types, CSP and caching.

What the pages do in a browser is tested end to end in ``tests/e2e/test_web_client.py``.
"""

from __future__ import annotations

import re

import pytest

from services.gateway.web import WEB_CSP
from tests.support.gateway import RunningGateway
from tests.support.http_checks import problem_of

PAGES = ("/", "/verify", "/reset", "/invitations/accept", "/unlock-request")
ASSETS = {
    "/web/main.js": "text/javascript",
    "/web/api.js": "text/javascript",
    "/web/ui.js": "text/javascript",
    "/web/pages-auth.js": "text/javascript",
    "/web/app.css": "text/css",
}
# The API's headers minus its CSP, which the pages replace with WEB_CSP.
PAGE_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": WEB_CSP,
}


def test_the_web_csp_allows_only_same_origin() -> None:
    directives = dict(d.strip().split(" ", 1) for d in WEB_CSP.split(";"))
    assert directives == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "connect-src": "'self'",
        "form-action": "'self'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
    }


@pytest.mark.parametrize("path", PAGES)
async def test_pages_are_html_with_the_web_csp_and_no_store(
    gateway: RunningGateway, path: str
) -> None:
    async with gateway.http.get(path, params={"token": "t-123"}) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert response.charset == "utf-8"
        for name, value in PAGE_HEADERS.items():
            assert response.headers.get(name) == value, name
        html = await response.text()
    # Only the one same-origin script and sheet; nothing inline, nothing from elsewhere.
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/web/main.js">']
    assert '<link rel="stylesheet" href="/web/app.css">' in html
    assert not re.search(r"\s(style|on[a-z]+)\s*=", html, re.IGNORECASE)
    assert "http://" not in html and "https://" not in html
    # The token is read by the script; the server never writes it into the page.
    assert "t-123" not in html


@pytest.mark.parametrize(("path", "content_type"), sorted(ASSETS.items()))
async def test_assets_have_their_content_type_csp_and_no_store(
    gateway: RunningGateway, path: str, content_type: str
) -> None:
    async with gateway.http.get(path) as response:
        assert response.status == 200
        assert response.content_type == content_type
        for name, value in PAGE_HEADERS.items():
            assert response.headers.get(name) == value, name
        assert await response.read()


async def test_head_answers_like_get_without_a_body(gateway: RunningGateway) -> None:
    async with gateway.http.head("/verify") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert response.headers["Content-Security-Policy"] == WEB_CSP
        assert await response.read() == b""


@pytest.mark.parametrize("path", PAGES)
async def test_post_on_a_page_is_405_problem_with_the_api_headers(
    gateway: RunningGateway, path: str
) -> None:
    async with gateway.http.post(path, data=b"new_password=x") as response:
        await problem_of(response, 405, "method_not_allowed")
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}


async def test_modules_import_only_served_same_origin_modules(gateway: RunningGateway) -> None:
    # No build step: every import of every module must name a file that /web/ serves.
    async with gateway.http.get("/web/main.js") as response:
        main = await response.text()
    imported = set(re.findall(r'from "\./([\w-]+\.js)"', main))
    assert imported, "main.js imports the pages"
    for name in imported:
        async with gateway.http.get(f"/web/{name}") as response:
            assert response.status == 200, name
            assert response.content_type == "text/javascript"
            assert "https://" not in await response.text()


async def test_nothing_else_under_web_is_served(gateway: RunningGateway) -> None:
    for path in ("/web/", "/web/__init__.py", "/web/../pyproject.toml", "/web/index.html"):
        async with gateway.http.get(path) as response:
            assert response.status == 404, path
