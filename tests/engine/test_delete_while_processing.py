"""Deleting a session while its processing job runs drops the job cleanly.

DeleteSession used to answer OK while the job ran on: its plan then met no session when
written, failed with an AssertionError, and was queued again to fail twice more. Now the
job goes with its session, and the worker running it writes nothing and retries nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from recallr_server.domain.sessions import Sessions
from recallr_server.engine.embeddings import Embedder, Matrix, MiniLMEmbedder
from recallr_server.engine.ingest.processing import SessionProcessor
from recallr_server.engine.ingest.worker import Worker
from recallr_server.store import jobs, models, projects
from recallr_server.store.database import Database
from recallr_server.store.unit_of_work import StoreUnitOfWork
from tests.support import seed

WAIT_SECONDS = 60.0


class HeldEmbedder:
    """The real embedder, held at its first call until the test lets it go: a plan in
    progress, off the event loop, as a long session's would be."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.reached = threading.Event()
        self.release = threading.Event()

    @property
    def dimensions(self) -> int:
        return self._inner.dimensions

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.reached.set()
        assert self.release.wait(WAIT_SECONDS), "the test never let the plan go on"
        return self._inner.embed(texts)


async def _processing_session(db: Database) -> tuple[str, seed.SeededUser, str]:
    """A project's user with a session whose processing is queued, as ProcessSession leaves it."""
    async with db.write() as tx:
        project = await projects.create_project(tx, project_id=str(uuid.uuid4()))
    user = await seed.add_user(db, project.id, "ada")
    session_id = await seed.add_session(db, user, status=models.SessionStatus.PROCESSING)
    for text in ("I moved to Lisbon last month.", "My sister Ana is a nurse."):
        await seed.add_message(db, user, session_id, text)
    async with db.write() as tx:
        await jobs.enqueue(tx, models.JobKind.PROCESS_SESSION, session_id, user.pk)
    return project.id, user, session_id


async def _count(db: Database, model: type[models.Base], **where: str) -> int:
    conditions = [getattr(model, name) == value for name, value in where.items()]
    async with db.read() as tx:
        return int(await tx.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


async def test_deleting_a_session_mid_processing_drops_its_job_without_a_failure(
    store: Database, caplog: pytest.LogCaptureFixture
) -> None:
    project_id, user, session_id = await _processing_session(store)
    held = HeldEmbedder(MiniLMEmbedder.load())
    worker = Worker(
        store,
        {models.JobKind.PROCESS_SESSION: SessionProcessor(store, held)},
        lease=timedelta(seconds=30),
    )
    running = asyncio.create_task(worker.run_until_idle())
    assert await asyncio.to_thread(held.reached.wait, WAIT_SECONDS), "processing never started"

    caplog.set_level(logging.INFO, logger="recallr")
    await Sessions(StoreUnitOfWork(store), lambda: None).delete(project_id, "ada", session_id)
    held.release.set()
    assert await asyncio.wait_for(running, WAIT_SECONDS) == 1

    assert await _count(store, models.Job, subject_id=session_id) == 0
    assert await _count(store, models.Memory, user_pk=user.pk) == 0
    assert await _count(store, models.SessionSummary, session_id=session_id) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert f"job process_session {session_id} cancelled" in caplog.text
    # Nothing is left to run later either: the job is not queued again.
    assert await worker.run_until_idle() == 0


async def test_a_job_whose_session_is_gone_before_it_starts_is_cancelled(store: Database) -> None:
    project_id, _, session_id = await _processing_session(store)
    async with store.write() as tx:
        claim = await jobs.claim_next(tx, "w", timedelta(seconds=30), postgres=not store.is_sqlite)
    assert claim is not None and claim.subject_id == session_id
    await Sessions(StoreUnitOfWork(store), lambda: None).delete(project_id, "ada", session_id)
    with pytest.raises(jobs.JobGone):
        await SessionProcessor(store, MiniLMEmbedder.load()).run(claim)
    assert await _count(store, models.Job, subject_id=session_id) == 0
