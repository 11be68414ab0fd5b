"""Rewrites a PostgreSQL URL for another role or database, keeping host, port and options."""

from __future__ import annotations

import urllib.parse


def with_credentials(
    url: str, *, database: str, user: str | None = None, password: str | None = None
) -> str:
    """``url`` pointing at ``database``; with ``user`` (and its password) instead of its own."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if user is not None:
        userinfo = urllib.parse.quote(user, safe="")
        if password is not None:
            userinfo += ":" + urllib.parse.quote(password, safe="")
        at = "@"
    netloc = f"{userinfo}{at}{hosts}"
    path = "/" + urllib.parse.quote(database, safe="")
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))
