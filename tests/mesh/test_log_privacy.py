"""No log level carries message content, metadata values or key material: not the
server's own records, nor those of the libraries under it (the SQL drivers log every
statement with its parameters when let)."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from recallr_server.store.database import Database
from recallrai import RecallrAI
from recallrai.exceptions import AuthenticationError
from recallrai.models import MessageRole, RecallStrategy, SessionStatus
from tests.conftest import BACKENDS
from tests.mesh.processes import ServeProcess
from tests.support.postgres import ThrowawayPostgres, free_loopback_port

LEVELS = ("DEBUG", "INFO", "WARNING")


@dataclass(frozen=True)
class Secrets:
    """What callers send that must never reach a log, each distinctive enough to grep."""

    content: str
    metadata_value: str
    wrong_key: str

    @classmethod
    def new(cls) -> Secrets:
        return cls(
            content=f"My locker code is {uuid.uuid4().hex}, keep it safe.",
            metadata_value=f"diagnosis-{uuid.uuid4().hex}",
            wrong_key=f"rai_{uuid.uuid4().hex}",
        )

    def forbidden(self, api_key: str) -> list[str]:
        keys = [api_key, self.wrong_key]
        return [
            self.content,
            self.metadata_value,
            *keys,
            *(hashlib.sha256(key.encode()).hexdigest() for key in keys),
        ]


def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{request.getfixturevalue('tmp_path') / 'recallr.db'}"
    cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
    return cluster.create_database(f"recallr_logs_{uuid.uuid4().hex[:8]}")


def exercise(server: ServeProcess, secrets: Secrets) -> None:
    """Every path that touches the secrets: writes, processing, recall, a refused key."""
    with RecallrAI(
        api_key=server.api_key, project_id=server.project_id, target=server.target
    ) as client:
        user = client.create_user("ada", metadata={"note": secrets.metadata_value})
        session = user.create_session()
        session.add_message(role=MessageRole.USER, content=secrets.content)
        session.process()
        deadline = time.monotonic() + 60
        while session.status != SessionStatus.PROCESSED:
            assert time.monotonic() < deadline, f"session still {session.status}"
            time.sleep(0.2)
            session.refresh()
        context = session.get_context(recall_strategy=RecallStrategy.LOW_LATENCY)
        assert context.context is not None and "locker" in context.context
        assert client.get_user("ada").metadata == {"note": secrets.metadata_value}
    with (
        RecallrAI(
            api_key=secrets.wrong_key, project_id=server.project_id, target=server.target
        ) as intruder,
        pytest.raises(AuthenticationError),
    ):
        intruder.get_user("ada")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("level", LEVELS)
def test_no_log_level_carries_content_metadata_or_key_material(
    level: str,
    backend: str,
    request: pytest.FixtureRequest,
    serve_process: Callable[..., ServeProcess],
) -> None:
    server = serve_process(
        RECALLR_LOG_LEVEL=level,
        RECALLR_DATABASE_URL=database_url(backend, request),
        # A chosen port: above INFO, the server does not log the one it would pick.
        RECALLR_LISTEN=f"127.0.0.1:{free_loopback_port()}",
    )
    secrets = Secrets.new()
    exercise(server, secrets)
    server.terminate()
    assert server.wait(timeout=30) == 0
    logged = server.log_text()
    leaked = [secret for secret in secrets.forbidden(server.api_key) if secret in logged]
    assert leaked == [], logged
    seen = {record["level"] for record in server.log_records()}
    if level == "WARNING":
        assert seen <= {"WARNING", "ERROR", "CRITICAL"}, seen
    else:  # each call's line at least: the server did log, so something could have leaked
        assert "INFO" in seen, seen


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_statement_does_not_carry_its_parameters(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """Unexpected errors are logged with their traceback: the statement may be there, what
    the caller sent may not."""
    secret = Secrets.new().content
    db = Database(database_url(backend, request))

    async def fail() -> None:
        try:
            async with db.read() as session:
                await session.execute(
                    text("SELECT * FROM no_such_table WHERE note = :note"), {"note": secret}
                )
        finally:
            await db.dispose()

    with pytest.raises(DBAPIError) as raised:
        asyncio.run(fail())
    shown = "".join(traceback.format_exception(raised.value))
    assert "no_such_table" in shown
    assert secret not in shown


def test_a_library_that_lowers_its_own_level_still_logs_only_warnings() -> None:
    script = """
import logging
from recallr_server import logs
logs.configure("DEBUG")
driver = logging.getLogger("aiosqlite")
driver.setLevel(logging.DEBUG)
driver.debug("statement with a parameter")
driver.warning("driver warning")
logging.getLogger("recallr.rpc").debug("own debug record")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "statement with a parameter" not in result.stderr
    assert "driver warning" in result.stderr
    assert "own debug record" in result.stderr
