"""The web client (the TrackCC website), served as static files: one HTML document, ES
modules and one style sheet, no build step.

``/`` serves the document, and so do the paths that mail links open (``/verify``, ``/reset``,
``/invitations/accept``, ``/unlock-request``, each with ``?token=T``): the client reads the
path and shows that page; every other view is a hash route (``/#/classes/ID``). ``/web/NAME``
serves each script and the sheet. None of this is API: it is registered apart from the route
specs and kept out of the OpenAPI document, and :data:`WEB_PATHS` names these paths so that
the completeness test can tell the two kinds of route apart. The pages call the public API
from the browser like any other client; browser sessions are ``refresh_cookie.py``.

This directory is a package so that setuptools ships the files beside this module as package
data (``*.html``, ``*.js``, ``*.css``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent
# Only same-origin scripts, styles and API calls; no inline code, no frames, no foreign form
# targets. The API's own policy (default-src 'none') would stop the page's script.
WEB_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class StaticFile:
    """One file of the web client and the path that serves it."""

    path: str
    file: str
    content_type: str


PAGE_PATHS = ("/", "/verify", "/reset", "/invitations/accept", "/unlock-request")
_ASSET_TYPES = {".js": "text/javascript", ".css": "text/css"}
FILES = (
    *(StaticFile(path, "index.html", "text/html") for path in PAGE_PATHS),
    *(
        StaticFile(f"/web/{file.name}", file.name, _ASSET_TYPES[file.suffix])
        for file in sorted(WEB_DIR.iterdir())
        if file.suffix in _ASSET_TYPES
    ),
)
WEB_PATHS = frozenset(item.path for item in FILES)


def _handler(body: bytes, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        response = web.Response(body=body, content_type=content_type, charset="utf-8")
        # Kept by add_security_headers, which adds every other security header as for the API.
        response.headers["Content-Security-Policy"] = WEB_CSP
        return response

    return handle


def register_web(app: web.Application) -> None:
    """Adds a GET (and HEAD) route for every file; any other method answers 405.

    Files are read once here, so that a missing one stops the gateway at start instead of
    failing a user's click, and no request ever maps a URL onto the file system.
    """
    for item in FILES:
        body = (WEB_DIR / item.file).read_bytes()
        # Route names must be dotted identifiers: web.page_invitations_accept, web.ui_js.
        slug = re.sub(r"\W", "_", item.path.strip("/").removeprefix("web/")) or "home"
        name = f"web.{'page_' if item.file == 'index.html' else ''}{slug}"
        app.router.add_get(item.path, _handler(body, item.content_type), name=name)
