"""Context recall latency for a user with 10,000 memories, LOW_LATENCY, warm index cache.

    .venv/bin/python -m bench.context_latency [--memories 10000] [--calls 200]

The user is written straight into a fresh SQLite store: memories embedded with the real
all-MiniLM-L6-v2 embedder from varied sentences, sessions with messages and summaries.
Three figures:
- server-side: the ContextService servicer called in-process, as the gRPC handler calls it;
- over gRPC: RecallContext round trips, beside GetUser round trips (a trivial RPC) as the
  baseline, alternating so both see the same machine state;
- after a new message: AddMessage then RecallContext, so each recall first refreshes the
  cached index with the new message (the live-chat case).
A throughput phase follows (`--throughput-seconds`, 0 skips it): RecallContext at 32 in
flight against a real `recallr-server serve` on the same store, with one serving process
and with one per core (RECALLR_PROCESSES), and the ratio of the two rates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import grpc

from bench.load import Load, closed_loop
from bench.server_process import running_server
from recallr.v1 import (
    context_pb2,
    context_service_pb2_grpc,
    session_pb2,
    session_service_pb2,
    session_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)
from recallr.v1 import context_service_pb2 as pb
from recallr_server import app
from recallr_server.api.context import ContextServicer
from recallr_server.api.handlers import Call
from recallr_server.config import Settings
from recallr_server.domain.context import ContextRecall
from recallr_server.engine.embeddings import MiniLMEmbedder
from recallr_server.engine.recall.index import IndexCache
from recallr_server.engine.recall.recaller import ContextRecaller
from recallr_server.engine.vectors import encode_vector
from recallr_server.store import migrate, models, projects
from recallr_server.store.database import Database

USER_ID = "heavy-user"
PEOPLE = ("my sister", "Tom", "our neighbour", "my manager", "grandma", "Priya", "the landlord")
PLACES = ("Berlin", "Lisbon", "a cabin near Oslo", "the coast", "Osaka", "Montreal", "Nairobi")
THINGS = (
    "started learning the cello",
    "adopted a rescue greyhound",
    "signed up for a half marathon",
    "switched to a vegetarian diet",
    "bought a second-hand sailing boat",
    "began restoring an old Vespa",
    "joined a pottery class",
    "took a job at a robotics start-up",
    "planted tomatoes and basil on the balcony",
    "booked a trip to see the northern lights",
    "finished reading War and Peace",
)
QUESTIONS = (
    "What instrument did my sister start learning?",
    "Which dog did Tom adopt?",
    "Where is the cabin we talked about?",
    "What did grandma plant on her balcony?",
    "Who took a job at a robotics start-up?",
    "What kind of boat did the landlord buy?",
    "Which race did Priya sign up for?",
    "What class did our neighbour join?",
    "Who is restoring an old scooter?",
    "Where did my manager go to see the northern lights?",
)
SESSIONS = 100
MESSAGES_PER_SESSION = 20


def sentence(i: int) -> str:
    month = ("January", "March", "May", "July", "September", "November")[i % 6]
    return (
        f"{PEOPLE[i % 7].capitalize()} {THINGS[i // 7 % 11]} in {PLACES[i // 77 % 7]} "
        f"in {month} {2015 + i % 9} (item {i})."
    )


async def seed(db: Database, memories: int) -> tuple[str, str, list[str]]:
    """Returns (project id, api key, ids of sessions whose last message is a question)."""
    embedder = MiniLMEmbedder.load()
    texts = [sentence(i) for i in range(memories)]
    started = time.perf_counter()
    vectors = await asyncio.to_thread(embedder.embed, texts)
    print(f"embedded {memories} memories in {time.perf_counter() - started:.0f}s")
    base = datetime(2024, 1, 1, tzinfo=UTC)
    async with db.write() as session:
        project = await projects.create_project(session, project_id=str(uuid.uuid4()))
        api_key = await projects.add_api_key(session, project.id)
        user = models.User(
            pk=str(uuid.uuid4()),
            project_id=project.id,
            user_id=USER_ID,
            metadata_={"name": "Sam"},
            created_at=base,
            last_active_at=base,
        )
        session.add(user)
        await session.flush()
        history = []
        for s in range(SESSIONS):
            row = models.Session(
                id=str(uuid.uuid4()),
                user_pk=user.pk,
                status=models.SessionStatus.PROCESSED,
                metadata_={},
                created_at=base + timedelta(days=s),
            )
            history.append(row)
            session.add(row)
        await session.flush()
        for s, row in enumerate(history):
            for m in range(MESSAGES_PER_SESSION):
                session.add(
                    models.Message(
                        id=str(uuid.uuid4()),
                        session_id=row.id,
                        user_pk=user.pk,
                        role=models.MessageRole.USER
                        if m % 2 == 0
                        else models.MessageRole.ASSISTANT,
                        content=sentence(s * MESSAGES_PER_SESSION + m).replace("(item", "(said"),
                        created_at=row.created_at,
                    )
                )
            session.add(
                models.SessionSummary(
                    session_id=row.id,
                    user_pk=user.pk,
                    summary=f"A conversation about {THINGS[s % 11]}.",
                    created_at=row.created_at,
                    embedding=encode_vector(vectors[s]),
                )
            )
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            session.add(
                models.Memory(
                    id=str(uuid.uuid4()),
                    user_pk=user.pk,
                    chain_id=str(uuid.uuid4()),
                    chain_seq=1,
                    session_id=history[i % SESSIONS].id,
                    content=text,
                    event_start_at=base - timedelta(days=i % 900),
                    event_end_at=base - timedelta(days=i % 900 - 1),
                    created_at=base,
                    source_message_ids=[],
                    embedding=encode_vector(vector),
                )
            )
        asking = []
        for q, question in enumerate(QUESTIONS * 5):
            row = models.Session(
                id=str(uuid.uuid4()),
                user_pk=user.pk,
                status=models.SessionStatus.PENDING,
                metadata_={},
                created_at=base + timedelta(days=SESSIONS + q),
            )
            session.add(row)
            await session.flush()
            session.add(
                models.Message(
                    id=str(uuid.uuid4()),
                    session_id=row.id,
                    user_pk=user.pk,
                    role=models.MessageRole.USER,
                    content=f"{question} ({q})",
                    created_at=row.created_at,
                )
            )
            asking.append(row.id)
    return project.id, api_key, asking


def options() -> pb.RecallOptions:
    return pb.RecallOptions(
        recall_strategy=context_pb2.RECALL_STRATEGY_LOW_LATENCY, include_metadata_ids=True
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


class NoDeadline:
    """The servicer context of a call made in-process: it has no deadline."""

    def time_remaining(self) -> None:
        return None


async def servicer_times(
    db: Database, project_id: str, sessions: list[str], calls: int
) -> tuple[list[float], float]:
    embedder = MiniLMEmbedder.load()
    servicer = ContextServicer(
        ContextRecall(ContextRecaller(db, embedder, IndexCache(embedder.dimensions)))
    )
    call = Call(project_id, "bench", cast(Any, NoDeadline()))

    async def once(session_id: str) -> float:
        request = pb.RecallContextRequest(user_id=USER_ID, session_id=session_id, options=options())
        started = time.perf_counter()
        await servicer.RecallContext(request, call)
        return time.perf_counter() - started

    cold = await once(sessions[0])
    times = [await once(sessions[i % len(sessions)]) for i in range(calls)]
    return times, cold


def rpc_times(
    target: str, metadata: tuple[tuple[str, str], ...], sessions: list[str], calls: int
) -> tuple[list[float], list[float], list[float]]:
    with grpc.insecure_channel(target) as channel:
        contexts = context_service_pb2_grpc.ContextServiceStub(channel)
        users = user_service_pb2_grpc.UserServiceStub(channel)
        messages = session_service_pb2_grpc.SessionServiceStub(channel)

        def timed(action: Callable[..., object], *args: object) -> float:
            started = time.perf_counter()
            action(*args)
            return time.perf_counter() - started

        def recall(session_id: str) -> object:
            request = pb.RecallContextRequest(
                user_id=USER_ID, session_id=session_id, options=options()
            )
            return contexts.RecallContext(request, metadata=metadata)

        def get_user() -> object:
            request = user_service_pb2.GetUserRequest(user_id=USER_ID)
            return users.GetUser(request, metadata=metadata)

        recall(sessions[0])
        recall_times, baseline = [], []
        for i in range(calls):
            recall_times.append(timed(recall, sessions[i % len(sessions)]))
            baseline.append(timed(get_user))
        after_message = []
        for i in range(min(calls, 50)):
            session_id = sessions[i % len(sessions)]
            messages.AddMessage(
                session_service_pb2.AddMessageRequest(
                    user_id=USER_ID,
                    session_id=session_id,
                    message=session_pb2.Message(
                        role=session_pb2.MESSAGE_ROLE_USER, content=f"{QUESTIONS[i % 10]} again"
                    ),
                ),
                metadata=metadata,
            )
            after_message.append(timed(recall, session_id))
    return recall_times, baseline, after_message


THROUGHPUT_IN_FLIGHT = 32
# Every serving process builds its own index of the user on its first recall.
THROUGHPUT_WARMUP_SECONDS = 15.0


async def recall_load(
    target: str, metadata: tuple[tuple[str, str], ...], sessions: list[str], seconds: float
) -> Load:
    async with grpc.aio.insecure_channel(target) as channel:
        contexts = context_service_pb2_grpc.ContextServiceStub(channel)

        async def recall(n: int) -> object:
            session_id = sessions[n % len(sessions)]
            request = pb.RecallContextRequest(
                user_id=USER_ID, session_id=session_id, options=options()
            )
            return await contexts.RecallContext(request, metadata=metadata, timeout=60)

        return await closed_loop(recall, THROUGHPUT_IN_FLIGHT, seconds, THROUGHPUT_WARMUP_SECONDS)


async def recall_throughput(
    url: str, metadata: tuple[tuple[str, str], ...], sessions: list[str], seconds: float
) -> None:
    """RecallContext at 32 in flight: one serving process, then one per core."""
    rates = {}
    for processes in (1, os.cpu_count() or 1):
        env = {"RECALLR_PROCESSES": str(processes)}
        with running_server(url, in_process_workers=0, worker_processes=0, extra_env=env) as (
            target,
            _,
        ):
            load = await recall_load(target, metadata, sessions, seconds)
        rates[processes] = load.rate
        print(
            f"RecallContext at {THROUGHPUT_IN_FLIGHT} in flight, {processes} process(es): "
            f"{load.line()}"
        )
    if len(rates) > 1:
        print(f"throughput, every core / one process: {rates[max(rates)] / rates[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--throughput-seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'bench.db'}"
        migrate.upgrade(url)
        db = Database(url)
        project_id, api_key, sessions = asyncio.run(seed(db, args.memories))
        times, cold = asyncio.run(servicer_times(db, project_id, sessions, args.calls))
        asyncio.run(db.dispose())
        p50, p95 = percentiles(times)
        print(f"first call (builds the index): {cold * 1000:.0f} ms")
        print(f"server-side RecallContext, warm: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")

        loop = asyncio.new_event_loop()
        settings = replace(Settings(), database_url=url, listen="127.0.0.1:0", workers=0)
        running = loop.run_until_complete(app.start(settings))
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            metadata = (
                ("authorization", f"Bearer {api_key}"),
                ("x-recallr-project-id", project_id),
            )
            recall_times, baseline, after_message = rpc_times(
                f"127.0.0.1:{running.port}", metadata, sessions, args.calls
            )
        finally:
            asyncio.run_coroutine_threadsafe(running.stop(), loop).result(timeout=60)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
        r50, r95 = percentiles(recall_times)
        b50, b95 = percentiles(baseline)
        a50, a95 = percentiles(after_message)
        print(f"RecallContext over gRPC: p50 {r50 * 1000:.1f} ms, p95 {r95 * 1000:.1f} ms")
        print(f"GetUser over gRPC (baseline): p50 {b50 * 1000:.2f} ms, p95 {b95 * 1000:.2f} ms")
        print(f"ratio RecallContext / GetUser at p50: {r50 / b50:.1f}")
        print(f"RecallContext minus baseline at p50: {(r50 - b50) * 1000:.1f} ms")
        print(
            f"RecallContext right after AddMessage: p50 {a50 * 1000:.1f} ms, "
            f"p95 {a95 * 1000:.1f} ms"
        )
        if args.throughput_seconds > 0:
            asyncio.run(recall_throughput(url, metadata, sessions, args.throughput_seconds))


if __name__ == "__main__":
    main()
