"""Which address the rate limits key on (services/gateway/client_address.py)."""

from __future__ import annotations

import pytest

from services.gateway.client_address import client_address, parse_networks

PROXIES = parse_networks("10.0.0.0/8, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "xff", "expected"),
    [
        # Untrusted peers: headers are never read.
        ("203.0.113.5", None, "198.51.100.1", "203.0.113.5"),
        ("203.0.113.5", "for=198.51.100.1", None, "203.0.113.5"),
        # A trusted proxy names its client; a chain of trusted proxies is walked.
        ("10.1.2.3", None, "198.51.100.1", "198.51.100.1"),
        ("10.1.2.3", None, "198.51.100.1, 10.4.5.6", "198.51.100.1"),
        ("10.1.2.3", None, "192.0.2.66, 198.51.100.1", "198.51.100.1"),
        ("10.1.2.3", 'for="[2001:db8::1]:443";proto=https', None, "2001:db8::1"),
        ("10.1.2.3", "for=198.51.100.1:1234, for=10.9.9.9", None, "198.51.100.1"),
        ("fd00::1", None, "2001:db8::2", "2001:db8::2"),
        # No header, or one that does not parse: the proxy itself.
        ("10.1.2.3", None, None, "10.1.2.3"),
        ("10.1.2.3", None, "not an address", "10.1.2.3"),
        ("10.1.2.3", "for=unknown", None, "10.1.2.3"),
    ],
)
def test_client_address(peer: str, forwarded: str | None, xff: str | None, expected: str) -> None:
    assert client_address(peer, forwarded, xff, PROXIES) == expected


def test_nothing_is_trusted_by_default() -> None:
    assert client_address("10.1.2.3", None, "198.51.100.1", ()) == "10.1.2.3"


def test_bad_ranges_are_named() -> None:
    with pytest.raises(ValueError, match="'nope'"):
        parse_networks("10.0.0.0/8,nope")
