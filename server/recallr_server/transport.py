"""How the server listens: TLS or mutual TLS, message size limits and keepalive."""

from __future__ import annotations

from pathlib import Path

import grpc

from recallr_server.config import Settings


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """gRPC channel arguments; a setting left unset keeps gRPC's own default."""
    options = [
        ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
        ("grpc.keepalive_permit_without_calls", int(settings.keepalive_permit_without_calls)),
    ]
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
