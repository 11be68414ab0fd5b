"""The web client: the pages that the links in mails open, served as static files.

Every mail link is built from the public URL and its path names its purpose (``/verify``,
``/reset``, ``/invitations/accept``, ``/unlock-request``, each with ``?token=T``). These pages
are not API: they are registered apart from the route specs and kept out of the OpenAPI
document, and :data:`WEB_PATHS` names them so that the completeness test can tell the two kinds
of route apart. The pages call the public API from the browser like any other client.

This directory is a package so that setuptools ships the files beside this module as package
data (``*.html``, ``*.js``, ``*.css``).
"""

from __future__ import annotations

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


FILES = (
    StaticFile("/verify", "verify.html", "text/html"),
    StaticFile("/reset", "reset.html", "text/html"),
    StaticFile("/invitations/accept", "invitation.html", "text/html"),
    StaticFile("/unlock-request", "unlock-request.html", "text/html"),
    StaticFile("/web/app.js", "app.js", "text/javascript"),
    StaticFile("/web/app.css", "app.css", "text/css"),
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
        app.router.add_get(item.path, _handler(body, item.content_type), name=f"web.{item.file}")
