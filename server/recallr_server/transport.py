"""How the server listens: TLS or mutual TLS, message size limits, keepalive, and how many
connections it holds open and for how long."""

from __future__ import annotations

import logging
import os
import resource
from pathlib import Path

import grpc

from recallr_server.config import Settings

log = logging.getLogger("recallr.server")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """gRPC channel arguments; a setting left unset keeps gRPC's own default."""
    options = [
        ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
        ("grpc.keepalive_permit_without_calls", int(settings.keepalive_permit_without_calls)),
    ]
    if settings.process_index is not None:
        # One of several serving processes that `serve` started on one port.
        options.append(("grpc.so_reuseport", 1))
    if settings.max_send_message_bytes is not None:
        options.append(("grpc.max_send_message_length", settings.max_send_message_bytes))
    if settings.keepalive_time_seconds is not None:
        options.append(("grpc.keepalive_time_ms", _ms(settings.keepalive_time_seconds)))
    if settings.keepalive_timeout_seconds is not None:
        options.append(("grpc.keepalive_timeout_ms", _ms(settings.keepalive_timeout_seconds)))
    if settings.keepalive_min_ping_interval_seconds is not None:
        # The least time between client pings the server tolerates; pings sent more often
        # count as abuse, and enough of them close the connection (GOAWAY too_many_pings).
        options.append(
            (
                "grpc.http2.min_ping_interval_without_data_ms",
                _ms(settings.keepalive_min_ping_interval_seconds),
            )
        )
    return options


# Descriptors kept out of the default connection limit for everything else the server
# opens: database connections and files, the metrics endpoint, outgoing model calls, logs.
# A running server holds about 20 of them; under load, its database pool adds up to 60.
RESERVED_FILE_DESCRIPTORS = 128
# What Linux lets an unprivileged process raise its soft limit to when the hard one is
# unlimited, unless /proc/sys/fs/nr_open says otherwise.
_DEFAULT_NR_OPEN = 1 << 20


def open_file_limit() -> int:
    """The soft RLIMIT_NOFILE: the descriptors this process may hold at once."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _ceiling(hard: int) -> int:
    if hard != resource.RLIM_INFINITY:
        return hard
    try:
        return int(Path("/proc/sys/fs/nr_open").read_text())
    except (OSError, ValueError):
        return _DEFAULT_NR_OPEN


def raise_open_file_limit() -> int:
    """Raises the soft open-file limit to the hard one, as far as the system lets an
    unprivileged process go, and returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _ceiling(hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError) as error:
        log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, error)
        return soft
    log.info("raised the open-file limit from %d to %d", soft, target)
    return target


def max_connections(settings: Settings, open_files: int) -> int:
    """The configured connection limit, else what `open_files` leaves after the reserve."""
    if settings.max_connections is not None:
        return settings.max_connections
    return max(open_files - RESERVED_FILE_DESCRIPTORS, open_files // 2, 1)


def connection_options(settings: Settings, open_files: int | None = None) -> list[tuple[str, int]]:
    """gRPC channel arguments bounding connections, so that idle or silent peers cannot
    take every file descriptor (`open_files`, by default this process's limit).

    Connections past the limit are closed as soon as they are accepted; a connection that
    has not sent its HTTP/2 settings within the handshake timeout, or that has had no call
    in flight for the idle timeout, is closed.
    """
    open_files = open_file_limit() if open_files is None else open_files
    return [
        ("grpc.max_allowed_incoming_connections", max_connections(settings, open_files)),
        ("grpc.server_handshake_timeout_ms", _ms(settings.handshake_timeout_seconds)),
        ("grpc.max_connection_idle_ms", _ms(settings.connection_idle_timeout_seconds)),
    ]


def _socket_inodes() -> set[str]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since it was listed
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def open_connections(port: int) -> int:
    """TCP connections to local `port` that this process holds a descriptor for: accepted
    ones still handshaking, serving or idle, and closed ones not yet released; not the
    listening socket. Read from /proc (Linux); 0 where it is missing."""
    tables = [Path(f"/proc/self/net/{name}") for name in ("tcp", "tcp6")]
    try:
        ours = _socket_inodes()
    except OSError:
        return 0
    count = 0
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:  # no IPv6, or no /proc
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            # State 0A is LISTEN; field 9 is the socket's inode.
            if local_port == port and fields[3] != "0A" and fields[9] in ours:
                count += 1
    return count


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials, or None for plaintext; a client CA makes it mutual TLS."""
    cert, key, client_ca = (
        settings.tls_cert_file,
        settings.tls_key_file,
        settings.tls_client_ca_file,
    )
    if not cert and not key and not client_ca:
        return None
    if not cert or not key:
        raise ValueError(
            "TLS needs both RECALLR_TLS_CERT_FILE and RECALLR_TLS_KEY_FILE"
            " (RECALLR_TLS_CLIENT_CA_FILE only adds client certificates to them)"
        )
    return grpc.ssl_server_credentials(
        [(Path(key).read_bytes(), Path(cert).read_bytes())],
        root_certificates=Path(client_ca).read_bytes() if client_ca else None,
        require_client_auth=bool(client_ca),
    )


def bind(server: grpc.aio.Server, settings: Settings) -> int:
    """Binds `settings.listen` and returns the port (the chosen one for port 0)."""
    credentials = server_credentials(settings)
    if credentials is None:
        return server.add_insecure_port(settings.listen)
    return server.add_secure_port(settings.listen, credentials)
