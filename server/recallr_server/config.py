"""Server configuration, read from the environment and overridable by flags."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

DEFAULT_DATABASE_FILE = "recallr.db"
DEFAULT_LISTEN = "127.0.0.1:50051"

T = TypeVar("T")


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"


def _optional(parse: Callable[[str], T], value: str | None) -> T | None:
    return parse(value) if value else None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything `serve` needs. Secrets are never part of `repr()`."""

    database_url: str = field(default_factory=default_database_url)
    listen: str = DEFAULT_LISTEN
    project_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    # How long in-flight calls may finish after SIGTERM.
    shutdown_grace_seconds: float = 10.0
    # How often a process looks for messages that other processes added, while it has live
    # tails open (SQLite; on PostgreSQL they are announced, and this poll is a backstop).
    tail_poll_interval_seconds: float = 0.05
    # Live (following) tails one project may hold open in one serving process.
    max_tails_per_project: int = 1_000
    # How long a verified API key stays cached; revocation takes effect within it.
    auth_cache_seconds: float = 5.0
    # Seconds between NOT_SERVING and the stop on SIGTERM, still accepting calls, so that
    # health checkers and load balancers route elsewhere before connections close.
    shutdown_drain_seconds: float = 0.0
    # How often health checks the database; a check slower than this counts as failed.
    health_probe_seconds: float = 5.0
    # A certificate chain and key turn TLS on; a client CA also requires client certificates.
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None
    max_receive_message_bytes: int = 4 * 1024 * 1024
    # None keeps gRPC's own default (send: unlimited; keepalive: a ping every 2 hours, 20 s
    # to answer; clients may ping every 5 minutes at most, and only during calls).
    max_send_message_bytes: int | None = None
    keepalive_time_seconds: float | None = None
    keepalive_timeout_seconds: float | None = None
    keepalive_permit_without_calls: bool = False
    keepalive_min_ping_interval_seconds: float | None = None
    # Connections accepted at once, counting those still handshaking; None takes the
    # open-file limit less the descriptors kept for everything else (transport.py).
    max_connections: int | None = None
    # A connection must finish its TLS and HTTP/2 handshake within this, and one with no
    # call in flight for the idle timeout is closed (clients reconnect on their next call).
    handshake_timeout_seconds: float = 10.0
    connection_idle_timeout_seconds: float = 300.0
    # host:port for Prometheus metrics; None serves none.
    metrics_listen: str | None = None
    # host:port for the RecallrAI HTTP API beside gRPC; None serves none.
    http_listen: str | None = None
    otel_enabled: bool = False
    log_level: str = "INFO"
    # Job runners inside `serve`; 0 leaves processing to `recallr-server worker`.
    workers: int = 1
    # How long a claimed job stays claimed without a heartbeat: a dead worker's
    # jobs are taken over after this.
    job_lease_seconds: float = 60.0
    # Serving processes `serve` runs on one port (SO_REUSEPORT); 0 means one per core.
    processes: int = 0
    # Which of them this is, in a process `serve` started; None in `serve` itself.
    process_index: int | None = None
    # The niceness of the job worker's own process when `serve` runs several, so that
    # serving keeps the cores it needs while processing takes whatever is left.
    worker_nice: int = 5

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            database_url=env.get("RECALLR_DATABASE_URL") or default_database_url(),
            listen=env.get("RECALLR_LISTEN") or DEFAULT_LISTEN,
            project_id=env.get("RECALLR_PROJECT_ID") or None,
            api_key=env.get("RECALLR_API_KEY") or None,
            shutdown_grace_seconds=float(env.get("RECALLR_SHUTDOWN_GRACE_SECONDS", "10")),
            tail_poll_interval_seconds=float(env.get("RECALLR_TAIL_POLL_SECONDS", "0.05")),
            max_tails_per_project=int(env.get("RECALLR_MAX_TAILS_PER_PROJECT", "1000")),
            auth_cache_seconds=float(env.get("RECALLR_AUTH_CACHE_SECONDS", "5")),
            shutdown_drain_seconds=float(env.get("RECALLR_SHUTDOWN_DRAIN_SECONDS", "0")),
            health_probe_seconds=float(env.get("RECALLR_HEALTH_PROBE_SECONDS", "5")),
            tls_cert_file=env.get("RECALLR_TLS_CERT_FILE") or None,
            tls_key_file=env.get("RECALLR_TLS_KEY_FILE") or None,
            tls_client_ca_file=env.get("RECALLR_TLS_CLIENT_CA_FILE") or None,
            max_receive_message_bytes=int(
                env.get("RECALLR_MAX_RECEIVE_MESSAGE_BYTES", str(4 * 1024 * 1024))
            ),
            max_send_message_bytes=_optional(int, env.get("RECALLR_MAX_SEND_MESSAGE_BYTES")),
            keepalive_time_seconds=_optional(float, env.get("RECALLR_KEEPALIVE_TIME_SECONDS")),
            keepalive_timeout_seconds=_optional(
                float, env.get("RECALLR_KEEPALIVE_TIMEOUT_SECONDS")
            ),
            keepalive_permit_without_calls=_flag(env.get("RECALLR_KEEPALIVE_PERMIT_WITHOUT_CALLS")),
            keepalive_min_ping_interval_seconds=_optional(
                float, env.get("RECALLR_KEEPALIVE_MIN_PING_INTERVAL_SECONDS")
            ),
            max_connections=_optional(int, env.get("RECALLR_MAX_CONNECTIONS")),
            handshake_timeout_seconds=float(env.get("RECALLR_HANDSHAKE_TIMEOUT_SECONDS", "10")),
            connection_idle_timeout_seconds=float(
                env.get("RECALLR_CONNECTION_IDLE_TIMEOUT_SECONDS", "300")
            ),
            metrics_listen=env.get("RECALLR_METRICS_LISTEN") or None,
            http_listen=env.get("RECALLR_HTTP_LISTEN") or None,
            otel_enabled=_flag(env.get("RECALLR_OTEL_ENABLED")),
            log_level=env.get("RECALLR_LOG_LEVEL", "INFO").upper(),
            workers=int(env.get("RECALLR_WORKERS", "1")),
            job_lease_seconds=float(env.get("RECALLR_JOB_LEASE_SECONDS", "60")),
            processes=int(env.get("RECALLR_PROCESSES", "0")),
            process_index=_optional(int, env.get("RECALLR_PROCESS_INDEX")),
            worker_nice=int(env.get("RECALLR_WORKER_NICE", "5")),
        )
