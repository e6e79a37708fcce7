"""Processing one large session, read a chunk at a time beside read whole, on SQLite.

    .venv/bin/python -m bench.large_session [--sizes 1000 5000 10000]

Each size is a session of that many generated everyday messages (tests/support/everyday),
processed by the local engine in a process of its own, once as the server does it (chunks
of `CHUNK_MESSAGES`) and once with the chunk as large as the session, which is how
processing read a session before it read in chunks. Every run first processes a short
session, so that loading the models and meeting the conversation's words count in neither
figure. Printed per run: the CPU seconds of processing (all threads), the growth of the
process's peak resident memory over what it held before, and the memories written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recallr_server.engine.embeddings import MiniLMEmbedder
from recallr_server.engine.ingest.processing import CHUNK_MESSAGES, SessionProcessor
from recallr_server.engine.ingest.worker import Worker, release_freed_memory
from recallr_server.store import jobs, migrate, models, projects
from recallr_server.store.database import Database
from tests.support.everyday import everyday_conversation

SIZES = (1_000, 5_000, 10_000)
WARMUP_MESSAGES = 200
SESSION_TIME = datetime(2024, 5, 6, 12, tzinfo=UTC)
MIB = 1024 * 1024
# Messages written per transaction when the session is set up.
WRITE_BATCH = 1_000


async def _queued_session(db: Database, messages: int) -> None:
    async with db.write() as tx:
        project = await projects.create_project(tx, project_id=str(uuid.uuid4()))
        user = models.User(
            pk=str(uuid.uuid4()),
            project_id=project.id,
            user_id="ada",
            metadata_={"name": "Ada"},
            merge_conflict_enabled=None,
            created_at=SESSION_TIME,
            last_active_at=SESSION_TIME,
        )
        session = models.Session(
            id=str(uuid.uuid4()),
            user_pk=user.pk,
            status=models.SessionStatus.PROCESSING,
            metadata_={},
            created_at=SESSION_TIME,
            auto_process_after_seconds=0,
            failure_reason="",
        )
        tx.add(user)
        await tx.flush()
        tx.add(session)
    turns = everyday_conversation(messages)
    for start in range(0, len(turns), WRITE_BATCH):
        async with db.write() as tx:
            tx.add_all(
                models.Message(
                    id=str(uuid.uuid4()),
                    session_id=session.id,
                    user_pk=user.pk,
                    role=models.MessageRole(role),
                    content=content,
                    created_at=SESSION_TIME,
                )
                for role, content in turns[start : start + WRITE_BATCH]
            )
    async with db.write() as tx:
        await jobs.enqueue(tx, models.JobKind.PROCESS_SESSION, session.id, user.pk)


def _resident() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_resident() -> None:
    """Makes the peak what is resident now (Linux), so that the next peak is this run's."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_resident() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


async def _memories(db: Database) -> int:
    async with db.read() as tx:
        found = await tx.scalars(models.Memory.__table__.select())
        return len(list(found))


async def measure(messages: int, chunk: int, directory: Path) -> dict[str, float]:
    """Processes a session of `messages` messages `chunk` at a time, in this process."""
    url = f"sqlite:///{directory / 'bench.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url)
    try:
        processor = SessionProcessor(db, MiniLMEmbedder.load(), chunk_messages=chunk)
        worker = Worker(db, {models.JobKind.PROCESS_SESSION: processor}, lease=timedelta(hours=1))
        await _queued_session(db, WARMUP_MESSAGES)
        await worker.run_until_idle()
        warm = await _memories(db)
        await _queued_session(db, messages)
        release_freed_memory()
        before = _resident()
        _reset_peak_resident()
        cpu = time.process_time()
        assert await worker.run_until_idle() == 1
        cpu = time.process_time() - cpu
        return {
            "cpu_seconds": cpu,
            "peak_growth_mib": (_peak_resident() - before) / MIB,
            "memories": await _memories(db) - warm,
        }
    finally:
        await db.dispose()


def _run_apart(messages: int, chunk: int) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.large_session", "--one", str(messages), str(chunk)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(output.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument(
        "--one", type=int, nargs=2, metavar=("MESSAGES", "CHUNK"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.one:
        with tempfile.TemporaryDirectory() as directory:
            messages, chunk = options.one
            print(json.dumps(asyncio.run(measure(messages, chunk, Path(directory)))))
        return
    print(f"chunk: {CHUNK_MESSAGES} messages; whole: one chunk of the session's size")
    print("| messages | reading | CPU s | peak RSS growth MiB | memories |")
    print("|---|---|---|---|---|")
    for size in options.sizes:
        for reading, chunk in (("chunks", CHUNK_MESSAGES), ("whole", size)):
            result = _run_apart(size, chunk)
            print(
                f"| {size:,} | {reading} | {result['cpu_seconds']:.1f} "
                f"| {result['peak_growth_mib']:.0f} | {result['memories']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
