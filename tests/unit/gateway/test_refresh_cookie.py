"""The browser's refresh cookie: the origin a browser sends from the gateway's own pages."""

from __future__ import annotations

import pytest

from services.gateway.refresh_cookie import public_origin


@pytest.mark.parametrize(
    ("public_url", "origin"),
    [
        ("https://localhost:8443", "https://localhost:8443"),
        ("https://trackcc.example.org/", "https://trackcc.example.org"),
        # Browsers leave the scheme's default port out of Origin.
        ("https://trackcc.example.org:443", "https://trackcc.example.org"),
        ("https://trackcc.example.org/school/", "https://trackcc.example.org"),
    ],
)
def test_the_public_origin_is_what_a_browser_sends(public_url: str, origin: str) -> None:
    assert public_origin(public_url) == origin
