"""The browser's refresh token: the ``trackcc_refresh`` cookie (docs/api.md, "Web client and
browser sessions").

A browser signs in with ``"refresh_cookie": true`` and never sees its refresh token: the
gateway sets it as an ``HttpOnly`` cookie scoped to ``/v1/sessions``, so no script (nor an
injected one) can read it, and it is sent only to the session routes. The refresh route
uses it only for requests whose ``Origin`` is the gateway's own public origin; with
``SameSite=Strict`` and the API's JSON-only bodies that makes the cookie useless to another
site (CSRF). Auth applies the same rotation and reuse rules as for body tokens
(``services/auth/refresh.py``); this module only moves the token between cookie and call.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from aiohttp import web
from yarl import URL

from services.common import reasons
from services.gateway.errors import ProblemError

COOKIE_NAME: Final = "trackcc_refresh"
COOKIE_PATH: Final = "/v1/sessions"


def public_origin(public_url: str) -> str:
    """The ``Origin`` a browser sends from the gateway's own pages."""
    return str(URL(public_url).origin())


def presented(request: web.Request, public_url: str) -> str | None:
    """The cookie's refresh token, after the origin check; None when there is no cookie.

    A missing ``Origin`` fails too: browsers send it with every POST, so only a non-browser
    client (which has no business with the cookie) or a stripped request lacks it.
    """
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        return None
    if request.headers.get("Origin") != public_origin(public_url):
        raise ProblemError(403, reasons.BAD_ORIGIN)
    return token


def set_cookie(
    response: web.StreamResponse, token: str, expires_at: dt.datetime | None, now: dt.datetime
) -> None:
    """Hands the token to the browser for as long as the session may last."""
    max_age = None if expires_at is None else max(0, int((expires_at - now).total_seconds()))
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Strict",
    )


def clear_cookie(response: web.StreamResponse) -> None:
    """Makes the browser forget the cookie (sign-out, or a token auth refused)."""
    response.set_cookie(
        COOKIE_NAME,
        "",
        max_age=0,
        expires="Thu, 01 Jan 1970 00:00:00 GMT",
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Strict",
    )
