"""A durable job queue in the database itself: leases, heartbeats, retries.

A job is claimed by setting a lease (owner token + expiry) in one short
transaction; the worker renews it while it works. Its effects commit in
one transaction together with `finish`, which first checks the lease is
still ours: a worker that lost its lease (it stalled, or was presumed dead
and its job re-claimed) commits nothing. A crash at any point therefore
loses nothing and duplicates nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.domain.clock import now
from recallr_server.store import models

MAX_ATTEMPTS = 3
MAX_ERROR_LENGTH = 2_000
# Jobs a claim tries when others' claims hold the first ones.
CLAIM_CANDIDATES = 8


class LeaseLost(Exception):
    """The job was re-claimed by another worker; this worker's effects must not commit."""


class JobGone(LeaseLost):
    """The job's row is gone with its subject (a deleted session, a deleted user): its
    effects must not commit, and there is nothing to retry."""


@dataclass(frozen=True)
class Claim:
    job_id: str
    kind: models.JobKind
    subject_id: str
    user_pk: str
    attempt: int
    lease_owner: str


def backoff(attempt: int) -> timedelta:
    return timedelta(seconds=min(2**attempt, 300))


async def enqueue(
    session: AsyncSession,
    kind: models.JobKind,
    subject_id: str,
    user_pk: str,
    *,
    run_after: datetime | None = None,
) -> None:
    """Queues (or re-queues) the one job of a subject, resetting its attempts."""
    stamp = now()
    job = await session.scalar(
        select(models.Job)
        .where(models.Job.kind == kind, models.Job.subject_id == subject_id)
        .with_for_update()
    )
    if job is None:
        job = models.Job(id=str(uuid.uuid4()), kind=kind, subject_id=subject_id, created_at=stamp)
        session.add(job)
    job.user_pk = user_pk
    job.status = models.JobStatus.QUEUED
    job.attempts = 0
    job.run_after = run_after or stamp
    job.lease_owner = None
    job.lease_expires_at = None
    job.last_error = ""
    job.updated_at = stamp


async def claim_next(
    session: AsyncSession, worker_id: str, lease: timedelta, *, postgres: bool
) -> Claim | None:
    """Leases the oldest runnable job: queued and due, or running with an expired lease."""
    stamp = now()
    runnable = or_(
        and_(models.Job.status == models.JobStatus.QUEUED, models.Job.run_after <= stamp),
        and_(models.Job.status == models.JobStatus.RUNNING, models.Job.lease_expires_at < stamp),
    )
    other = models.Job.__table__.alias("other")
    # One job per user at a time: consolidation reads and rewrites the user's
    # memories, so two sessions of one user must not be planned concurrently.
    user_busy = exists().where(
        other.c.user_pk == models.Job.user_pk,
        other.c.id != models.Job.id,
        other.c.status == models.JobStatus.RUNNING.value,
        other.c.lease_expires_at >= stamp,
    )
    query = select(models.Job).where(runnable, ~user_busy).order_by(models.Job.run_after)
    if postgres:
        job = await _lock_first_free(session, query)
    else:
        # SQLite needs no locks: its write transactions (BEGIN IMMEDIATE) are serial.
        job = await session.scalar(query.limit(1))
    if job is None:
        return None
    owner = f"{worker_id}:{uuid.uuid4().hex[:12]}"
    job.status = models.JobStatus.RUNNING
    job.attempts += 1
    job.lease_owner = owner
    job.lease_expires_at = stamp + lease
    job.updated_at = stamp
    return Claim(job.id, job.kind, job.subject_id, job.user_pk, job.attempts, owner)


async def _lock_first_free(
    session: AsyncSession, runnable: Select[models.Job]
) -> models.Job | None:
    """The first of the runnable jobs this transaction can lock, with its user's row locked.

    The user's row is locked before the job's: deleting a user locks its row and then,
    through the cascade, its jobs' rows, so a claim taking them the other way round would
    deadlock with it. The user's lock also orders two workers claiming jobs of one user;
    the job is read again under it, so the second sees the first one's claim and moves
    on. A claim waits only while it holds no lock (for its first candidate's user); past
    that it skips what others hold, so it can never close a cycle of waits.
    """
    candidates = await session.execute(
        runnable.with_only_columns(models.Job.id, models.Job.user_pk).limit(CLAIM_CANDIDATES)
    )
    for tried, (job_id, user_pk) in enumerate(candidates.all()):
        user = select(models.User.pk).where(models.User.pk == user_pk)
        if await session.scalar(user.with_for_update(skip_locked=tried > 0)) is None:
            continue  # deleted with its jobs meanwhile, or held by another transaction
        # Workers skip each other's rows instead of queueing behind them.
        job = await session.scalar(
            runnable.where(models.Job.id == job_id).with_for_update(skip_locked=True)
        )
        if job is not None:
            return job
    return None


async def _owned(session: AsyncSession, claim: Claim) -> models.Job:
    # The user's row first, as everywhere (see _lock_first_free): the transaction that
    # finishes a job goes on to bump the user's revision.
    await session.execute(
        select(models.User.pk).where(models.User.pk == claim.user_pk).with_for_update()
    )
    job = await session.scalar(
        select(models.Job).where(models.Job.id == claim.job_id).with_for_update()
    )
    if job is None:
        raise JobGone(claim.job_id)
    if job.lease_owner != claim.lease_owner:
        raise LeaseLost(claim.job_id)
    return job


async def heartbeat(session: AsyncSession, claim: Claim, lease: timedelta) -> None:
    job = await _owned(session, claim)
    job.lease_expires_at = now() + lease
    job.updated_at = now()


async def finish(session: AsyncSession, claim: Claim) -> None:
    """Marks the job done, in the transaction that commits its effects."""
    job = await _owned(session, claim)
    job.status = models.JobStatus.DONE
    job.lease_owner = None
    job.lease_expires_at = None
    job.last_error = ""
    job.updated_at = now()


async def defer(session: AsyncSession, claim: Claim, run_after: datetime) -> None:
    """Puts a job that is not due yet back, without counting an attempt."""
    job = await _owned(session, claim)
    job.status = models.JobStatus.QUEUED
    job.attempts -= 1
    job.run_after = run_after
    job.lease_owner = None
    job.lease_expires_at = None
    job.updated_at = now()


async def fail(session: AsyncSession, claim: Claim, error: str) -> bool:
    """Records a failed attempt. Returns True when no retry is left."""
    job = await _owned(session, claim)
    job.last_error = error[:MAX_ERROR_LENGTH]
    job.lease_owner = None
    job.lease_expires_at = None
    job.updated_at = now()
    if job.attempts >= MAX_ATTEMPTS:
        job.status = models.JobStatus.FAILED
        return True
    job.status = models.JobStatus.QUEUED
    job.run_after = now() + backoff(job.attempts)
    return False


async def drop(session: AsyncSession, kind: models.JobKind, subject_id: str) -> None:
    """Deletes the subject's job, queued or running: a worker running it commits nothing."""
    await session.execute(
        delete(models.Job).where(models.Job.kind == kind, models.Job.subject_id == subject_id)
    )


async def release_all(session: AsyncSession, worker_id: str) -> int:
    """Hands a stopping worker's jobs back at once, without counting an attempt."""
    result = await session.execute(
        update(models.Job)
        .where(
            models.Job.status == models.JobStatus.RUNNING,
            models.Job.lease_owner.startswith(f"{worker_id}:"),
        )
        .values(
            status=models.JobStatus.QUEUED,
            attempts=models.Job.attempts - 1,
            lease_owner=None,
            lease_expires_at=None,
            run_after=now(),
            updated_at=now(),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def queue_depth(session: AsyncSession) -> int:
    return (
        await session.scalar(
            select(func.count()).where(models.Job.status == models.JobStatus.QUEUED)
        )
        or 0
    )
