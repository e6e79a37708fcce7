"""Stopping the job worker: it stops promptly whatever its runners are doing.

A stop cancels the runners. A runner cancelled while its job runs used to take the
cancellation for its own job's abandonment (which it is when a heartbeat finds the lease
lost) and go on looping, so `stop()` waited for it forever and the server's shutdown
timed out.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from recallr_server.engine.ingest.worker import Worker
from recallr_server.store import jobs, models
from recallr_server.store.database import Database, Tx
from tests.engine.conftest import add_user_with_session

STOP_WITHIN_SECONDS = 10.0


class HeldJob:
    """A handler whose job runs until the test lets it go: a job in flight at stop time."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self._release = asyncio.Event()

    async def run(self, claim: jobs.Claim) -> None:
        self.started.set()
        await self._release.wait()

    async def on_failure(self, tx: Tx, claim: jobs.Claim, error: str, final: bool) -> None:
        raise AssertionError(f"a held job does not fail: {error}")


async def _queue_one_job(store: Database) -> str:
    user_pk, session_id = await add_user_with_session(store)
    async with store.write() as session:
        await jobs.enqueue(session, models.JobKind.PROCESS_SESSION, session_id, user_pk)
    return session_id


async def test_stop_ends_runners_that_are_running_a_job_and_hands_the_job_back(
    store: Database,
) -> None:
    session_id = await _queue_one_job(store)
    held = HeldJob()
    worker = Worker(
        store,
        {models.JobKind.PROCESS_SESSION: held},
        concurrency=2,
        lease=timedelta(seconds=30),
        poll_interval=0.05,
    )
    worker.start()
    await asyncio.wait_for(held.started.wait(), STOP_WITHIN_SECONDS)

    await asyncio.wait_for(worker.stop(), STOP_WITHIN_SECONDS)

    async with store.read() as session:
        job = await session.scalar(select(models.Job).where(models.Job.subject_id == session_id))
    assert job is not None
    assert (job.status, job.attempts, job.lease_owner) == (models.JobStatus.QUEUED, 0, None)


async def test_stop_ends_idle_runners_woken_just_before_it(store: Database) -> None:
    # A long poll keeps the runners waiting for a wake when the stop comes.
    worker = Worker(store, {}, concurrency=3, poll_interval=30)
    worker.start()
    await asyncio.sleep(0.5)
    # The wake ends the runners' waits in the same turn of the loop as the stop cancels
    # them: a wait that both finished and was cancelled must still stop its runner.
    worker.wake()
    await asyncio.wait_for(worker.stop(), STOP_WITHIN_SECONDS)
