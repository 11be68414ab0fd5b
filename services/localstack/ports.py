"""Loopback ports: is one free, and pick free ones for the internal listeners."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing listens on ``host:port`` (a listener we would collide with)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Matches what the real listener will do: TIME_WAIT leftovers of a previous run are
        # no conflict, an active listener still is.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` distinct ports that are free right now.

    All sockets stay open until every port is chosen, so the kernel cannot hand out the same
    one twice; another program could still take one before our child binds it, which the
    child then reports as a bind error.
    """
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
