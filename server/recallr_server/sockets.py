"""Listening addresses that several processes share: `serve` on every core binds each of
its ports (gRPC and HTTP) once per serving process, and the kernel spreads connections."""

from __future__ import annotations

import socket


def shared_socket(listen: str) -> socket.socket:
    """A TCP socket bound to `listen` (`host:port`; port 0 picks one) with SO_REUSEPORT,
    so other processes can bind the same address; not yet listening."""
    host, _, port = listen.rpartition(":")
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]") or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock
