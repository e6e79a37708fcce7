"""Server configuration, read from the environment and overridable by flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_FILE = "recallr.db"
DEFAULT_LISTEN = "127.0.0.1:50051"


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"


@dataclass(frozen=True)
class Settings:
    """Everything `serve` needs. Secrets are never part of `repr()`."""

    database_url: str = field(default_factory=default_database_url)
    listen: str = DEFAULT_LISTEN
    project_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    # How long in-flight calls may finish after SIGTERM.
    shutdown_grace_seconds: float = 10.0
    # How often a live message tail looks for messages other replicas added.
    tail_poll_interval_seconds: float = 0.25
    # How long a verified API key stays cached; revocation takes effect within it.
    auth_cache_seconds: float = 5.0
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            database_url=env.get("RECALLR_DATABASE_URL") or default_database_url(),
            listen=env.get("RECALLR_LISTEN") or DEFAULT_LISTEN,
            project_id=env.get("RECALLR_PROJECT_ID") or None,
            api_key=env.get("RECALLR_API_KEY") or None,
            shutdown_grace_seconds=float(env.get("RECALLR_SHUTDOWN_GRACE_SECONDS", "10")),
            tail_poll_interval_seconds=float(env.get("RECALLR_TAIL_POLL_SECONDS", "0.25")),
            auth_cache_seconds=float(env.get("RECALLR_AUTH_CACHE_SECONDS", "5")),
            log_level=env.get("RECALLR_LOG_LEVEL", "INFO").upper(),
        )
