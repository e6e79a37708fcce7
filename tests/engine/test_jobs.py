"""The durable job queue: leases, retries, per-user serialisation, hand-back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy import delete, select, text

from recallr_server.domain.clock import now
from recallr_server.store import jobs, models
from recallr_server.store.database import Database
from recallr_server.store.revisions import bump_index_revision
from tests.engine.conftest import add_user_with_session
from tests.support import seed

LEASE = timedelta(seconds=30)
T = TypeVar("T")
KIND = models.JobKind.PROCESS_SESSION


async def _claim(db: Database, worker: str = "w", lease: timedelta = LEASE) -> jobs.Claim | None:
    async with db.write() as session:
        return await jobs.claim_next(session, worker, lease, postgres=not db.is_sqlite)


async def _job(db: Database, subject: str) -> models.Job:
    async with db.read() as session:
        job = await session.scalar(select(models.Job).where(models.Job.subject_id == subject))
        assert job is not None
        return job


async def _enqueue(db: Database, subject: str, user_pk: str, **kwargs: object) -> None:
    async with db.write() as session:
        await jobs.enqueue(session, KIND, subject, user_pk, **kwargs)  # type: ignore[arg-type]


async def test_a_queued_job_is_claimed_once_and_finished(store: Database) -> None:
    user_pk, session_id = await add_user_with_session(store)
    await _enqueue(store, session_id, user_pk)
    claim = await _claim(store)
    assert claim is not None and claim.subject_id == session_id and claim.attempt == 1
    assert await _claim(store, "other") is None
    async with store.write() as session:
        await jobs.finish(session, claim)
    assert (await _job(store, session_id)).status == models.JobStatus.DONE


async def test_a_job_that_is_not_due_is_not_claimed(store: Database) -> None:
    user_pk, session_id = await add_user_with_session(store)
    await _enqueue(store, session_id, user_pk, run_after=now() + timedelta(hours=1))
    assert await _claim(store) is None


async def test_an_expired_lease_is_reclaimed_and_the_old_owner_commits_nothing(
    store: Database,
) -> None:
    user_pk, session_id = await add_user_with_session(store)
    await _enqueue(store, session_id, user_pk)
    stale = await _claim(store, "dead", lease=timedelta(seconds=-1))
    assert stale is not None
    fresh = await _claim(store, "alive")
    assert fresh is not None and fresh.attempt == 2 and fresh.lease_owner != stale.lease_owner
    with pytest.raises(jobs.LeaseLost):
        async with store.write() as session:
            await jobs.finish(session, stale)
    assert (await _job(store, session_id)).status == models.JobStatus.RUNNING


async def test_failures_back_off_then_fail_for_good(store: Database) -> None:
    user_pk, session_id = await add_user_with_session(store)
    await _enqueue(store, session_id, user_pk)
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        async with store.write() as session:
            job = await session.scalar(select(models.Job))
            assert job is not None
            job.run_after = now()  # skip the backoff wait
        claim = await _claim(store)
        assert claim is not None and claim.attempt == attempt
        async with store.write() as session:
            final = await jobs.fail(session, claim, f"boom {attempt}")
        assert final == (attempt == jobs.MAX_ATTEMPTS)
        job = await _job(store, session_id)
        if not final:
            assert job.status == models.JobStatus.QUEUED
            assert job.run_after >= now() + jobs.backoff(attempt) - timedelta(seconds=5)
    job = await _job(store, session_id)
    assert job.status == models.JobStatus.FAILED and job.last_error == "boom 3"
    # Queueing again (ProcessSession on a FAILED session) starts afresh.
    await _enqueue(store, session_id, user_pk)
    job = await _job(store, session_id)
    assert (job.status, job.attempts, job.last_error) == (models.JobStatus.QUEUED, 0, "")


async def test_one_user_runs_one_job_at_a_time(store: Database) -> None:
    user_pk, first = await add_user_with_session(store)
    second = await seed.add_session(
        store, seed.SeededUser(user_pk, "u"), status=models.SessionStatus.PENDING
    )
    other_user, other_session = await add_user_with_session(store, "v")
    for subject, owner in ((first, user_pk), (second, user_pk), (other_session, other_user)):
        await _enqueue(store, subject, owner)
    claims = [await _claim(store, f"w{i}") for i in range(3)]
    claimed = [c for c in claims if c is not None]
    assert sorted(c.user_pk for c in claimed) == sorted([user_pk, other_user])


async def test_a_stopping_worker_hands_its_jobs_back_without_an_attempt(store: Database) -> None:
    user_pk, session_id = await add_user_with_session(store)
    await _enqueue(store, session_id, user_pk)
    assert await _claim(store, "leaving") is not None
    async with store.write() as session:
        assert await jobs.release_all(session, "leaving") == 1
    job = await _job(store, session_id)
    assert (job.status, job.attempts, job.lease_owner) == (models.JobStatus.QUEUED, 0, None)
    assert await _claim(store, "next") is not None


async def test_deferring_does_not_count_an_attempt(store: Database) -> None:
    user_pk, session_id = await add_user_with_session(store)
    await _enqueue(store, session_id, user_pk)
    claim = await _claim(store)
    assert claim is not None
    later = now() + timedelta(minutes=5)
    async with store.write() as session:
        await jobs.defer(session, claim, later)
    job = await _job(store, session_id)
    assert (job.status, job.attempts) == (models.JobStatus.QUEUED, 0)
    assert await _claim(store) is None


async def _waiting_on_a_lock(db: Database) -> bool:
    async with db.read() as session:
        waiting = await session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        )
        return bool(waiting)


async def _while_its_user_is_deleted(
    db: Database, user_pk: str, work: Callable[[], Awaitable[T]]
) -> T:
    """Runs `work` while a transaction deletes the user as DeleteUser does, on PostgreSQL."""
    if db.is_sqlite:
        pytest.skip("SQLite's write transactions run one at a time: nothing to wait for")
    async with db.write() as deleting:
        # DeleteUser's order: the user's row, then its jobs' rows through the cascade.
        user = select(models.User.pk).where(models.User.pk == user_pk).with_for_update()
        await deleting.execute(user)
        working = asyncio.ensure_future(work())
        for _ in range(200):
            if await _waiting_on_a_lock(db):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the work never waited for the user's row")
        await deleting.execute(delete(models.User).where(models.User.pk == user_pk))
    return await working


async def test_a_claim_and_the_deletion_of_its_user_wait_for_each_other(store: Database) -> None:
    user_pk, session_id = await add_user_with_session(store)
    await _enqueue(store, session_id, user_pk)
    assert await _while_its_user_is_deleted(store, user_pk, lambda: _claim(store)) is None


async def _finish_as_processing_does(db: Database, claim: jobs.Claim) -> None:
    async with db.write() as session:
        await jobs.finish(session, claim)
        await bump_index_revision(session, claim.user_pk)


async def test_finishing_a_job_and_deleting_its_user_wait_for_each_other(store: Database) -> None:
    user_pk, session_id = await add_user_with_session(store)
    await _enqueue(store, session_id, user_pk)
    claim = await _claim(store)
    assert claim is not None
    with pytest.raises(jobs.JobGone):
        await _while_its_user_is_deleted(
            store, user_pk, lambda: _finish_as_processing_does(store, claim)
        )
