"""The client's address, which the rate limits are keyed on.

The transport peer is the client unless it is a configured trusted proxy
(``TRACKCC_GATEWAY_TRUSTED_PROXIES``, empty by default: nothing is trusted). Behind the chart's
Ingress every request comes from the Ingress controller, so without this one school would
share one bucket of sign-ins. From a trusted peer the address is taken from ``Forwarded``
(RFC 7239) or else ``X-Forwarded-For``, read from the right: each trusted proxy appends the
address it received from, so the first address from the right that is not itself a trusted
proxy is the client's. Anything to its left was written by the client and is never believed.
A header that does not parse falls back to the peer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# More hops than any real proxy chain; a longer header is not read past this.
MAX_HOPS = 16


def parse_networks(raw: str) -> tuple[IpNetwork, ...]:
    """Comma-separated addresses or CIDR ranges; ValueError names the first bad one."""
    networks = []
    for item in raw.split(","):
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or CIDR range") from None
    return tuple(networks)


def _address(text: str) -> IpAddress | None:
    value = text.strip().strip('"')
    if value.startswith("["):  # Forwarded quotes IPv6 as "[2001:db8::1]:port"
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.partition(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _forwarded_for(header: str) -> list[str]:
    hops = []
    for element in header.split(","):
        for pair in element.split(";"):
            name, _, value = pair.partition("=")
            if name.strip().lower() == "for":
                hops.append(value)
    return hops


def client_address(
    peer: str | None,
    forwarded: str | None,
    x_forwarded_for: str | None,
    trusted: Sequence[IpNetwork],
) -> str:
    """The address to key limits on: the peer, or what trusted proxies say the client was."""
    peer_address = _address(peer) if peer else None
    if peer_address is None:
        return peer or "unknown"
    if not _is_trusted(peer_address, trusted):
        return str(peer_address)
    if forwarded:
        hops = _forwarded_for(forwarded)
    elif x_forwarded_for:
        hops = x_forwarded_for.split(",")
    else:
        return str(peer_address)
    for hop in reversed(hops[-MAX_HOPS:]):
        address = _address(hop)
        if address is None:
            # An obfuscated or unknown hop ("for=unknown", "_hidden"): the chain breaks here,
            # and the last proxy we trust is the best we know.
            return str(peer_address)
        if not _is_trusted(address, trusted):
            return str(address)
        peer_address = address
    return str(peer_address)


def _is_trusted(address: IpAddress, trusted: Sequence[IpNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)
