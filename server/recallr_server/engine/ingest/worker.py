"""Runs jobs from the queue: claim, heartbeat, run, record the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
import os
import socket
import time
from datetime import timedelta
from typing import Protocol

from recallr_server import metrics
from recallr_server.store import jobs, models
from recallr_server.store.database import Database, Tx

log = logging.getLogger("recallr.worker")


class JobHandler(Protocol):
    async def run(self, claim: jobs.Claim) -> None:
        """Does the work; commits its effects together with `jobs.finish`."""

    async def on_failure(self, tx: Tx, claim: jobs.Claim, error: str, final: bool) -> None:
        """Marks the subject failed, in the transaction that records the failed attempt."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    def __init__(
        self,
        db: Database,
        handlers: dict[models.JobKind, JobHandler],
        *,
        worker_id: str | None = None,
        concurrency: int = 1,
        lease: timedelta = timedelta(seconds=60),
        poll_interval: float = 0.5,
    ) -> None:
        self._db = db
        self._handlers = handlers
        self.worker_id = worker_id or default_worker_id()
        self._concurrency = concurrency
        self._lease = lease
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"recallr-worker-{i}")
            for i in range(self._concurrency)
        ]

    def wake(self) -> None:
        """Something was queued here: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Stops at once and hands back claimed jobs so another worker can take them."""
        # Cancelling ends a runner wherever it waits. The flag ends one whose cancellation
        # was lost: Python 3.11's wait_for returns normally when its wait finishes in the
        # same turn of the loop as it is cancelled.
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        async with self._db.write() as session:
            released = await jobs.release_all(session, self.worker_id)
        if released:
            log.info("released %d claimed job(s)", released)

    async def run_until_idle(self) -> int:
        """Runs due jobs until none is left; returns how many ran (for tools and tests)."""
        count = 0
        while await self._run_one():
            count += 1
        return count

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                ran = await self._run_one()
            except Exception:
                # The database may be briefly unreachable; keep the worker alive.
                log.exception("worker iteration failed")
                ran = False
            if not ran:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                self._wake.clear()

    async def _run_one(self) -> bool:
        async with self._db.write() as session:
            claim = await jobs.claim_next(
                session, self.worker_id, self._lease, postgres=not self._db.is_sqlite
            )
            metrics.set_queue_depth(await jobs.queue_depth(session))
        if claim is None:
            return False
        handler = self._handlers[claim.kind]
        started = time.perf_counter()
        work = asyncio.create_task(handler.run(claim))
        heartbeat = asyncio.create_task(self._heartbeat(claim, work))
        try:
            await work
            outcome = "done"
        except jobs.JobGone:
            # Its subject was deleted while it ran: nothing to write and nothing to retry.
            outcome = "cancelled"
        except jobs.LeaseLost:
            outcome = "lease_lost"
        except asyncio.CancelledError:
            if _stop_requested() or not work.cancelled():
                raise
            # The heartbeat found the lease lost and cancelled the job, not the runner.
            outcome = "lease_lost"
        except Exception as error:
            outcome = "failed"
            log.exception("job %s (%s) failed", claim.job_id, claim.kind.value)
            await self._record_failure(claim, handler, f"{type(error).__name__}: {error}")
        finally:
            heartbeat.cancel()
            await asyncio.wait([heartbeat])
            if not heartbeat.cancelled() and (failure := heartbeat.exception()) is not None:
                raise failure
        elapsed = time.perf_counter() - started
        # A large session's plan leaves freed memory that the C allocator keeps otherwise.
        await asyncio.to_thread(release_freed_memory)
        metrics.job_finished(claim.kind.value, elapsed, outcome)
        log.info(
            "job %s %s %s in %.0fms", claim.kind.value, claim.subject_id, outcome, elapsed * 1000
        )
        return True

    async def _record_failure(self, claim: jobs.Claim, handler: JobHandler, error: str) -> None:
        try:
            async with self._db.write() as session:
                final = await jobs.fail(session, claim, error)
                await handler.on_failure(session, claim, error, final)
        except jobs.LeaseLost:
            pass

    async def _heartbeat(self, claim: jobs.Claim, work: asyncio.Task[None]) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                async with self._db.write() as session:
                    await jobs.heartbeat(session, claim, self._lease)
            except jobs.JobGone:
                log.info("job %s was dropped with its subject; abandoning it", claim.job_id)
                work.cancel()
                return
            except jobs.LeaseLost:
                log.warning("lost the lease of job %s; abandoning it", claim.job_id)
                work.cancel()
                return


def _malloc_trim() -> ctypes._NamedFuncPointer | None:
    """glibc's malloc_trim, which returns free heap pages to the system; None elsewhere."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Collects cycles, then hands the allocator's free pages back to the system (on glibc),
    so the process's resident memory falls back after a large job instead of staying."""
    gc.collect()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _stop_requested() -> bool:
    """Whether the running task itself (a runner) is being cancelled."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
