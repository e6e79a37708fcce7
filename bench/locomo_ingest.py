"""Ingest benchmark: LoCoMo dev conversations processed into memories.

One user per conversation, one session per LoCoMo session with its historical
time, all through the public Python client against real server processes.
Two layouts run side by side on the same data: the server's in-process worker,
and a server beside two separate worker processes (one per core).

    .venv/bin/python -m bench.locomo_ingest
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.locomo_data import PLAIN, Conversation, Transcript, conversations
from bench.server_process import API_KEY, PROJECT_ID, peak_rss_mib, running_server
from recallrai import RecallrAI
from recallrai.models import MessageRole, SessionStatus

LAYOUTS = {"in-process worker": (1, 0), "2 worker processes": (0, 2)}


@dataclass(frozen=True)
class Result:
    layout: str
    sessions: int
    turns: int
    ingest_seconds: float
    processing_seconds: float
    memories: int
    failed: int
    peak_rss_mib: float


def ingest(
    client: RecallrAI, data: list[Conversation], transcript: Transcript = PLAIN
) -> list[tuple[str, str]]:
    """Adds every turn; returns (user id, session id) pairs in chronological order.

    One user per conversation; one session per LoCoMo session, created at its historical
    time; speaker A's turns are USER messages, speaker B's ASSISTANT messages. The
    transcript says where the speakers' names go: metadata, or each message's text.
    """
    sessions = []
    for conversation in data:
        user_id = transcript.user_id(conversation)
        user = client.create_user(user_id, metadata=transcript.user_metadata(conversation))
        for locomo in conversation.sessions:
            session = user.create_session(
                custom_created_at_utc=locomo.time,
                metadata={
                    "locomo_session": locomo.number,
                    **transcript.session_metadata(conversation),
                },
            )
            for turn in locomo.turns:
                role = (
                    MessageRole.USER
                    if turn.speaker == conversation.speaker_a
                    else MessageRole.ASSISTANT
                )
                session.add_message(role=role, content=transcript.content(turn))
            sessions.append((user_id, session.session_id))
    return sessions


def process(client: RecallrAI, sessions: list[tuple[str, str]], timeout: float) -> int:
    """Queues every session for processing and waits for all; returns how many FAILED."""
    for user_id, session_id in sessions:
        client.get_user(user_id, validate=False).get_session(session_id, validate=False).process()
    # One status query per user and poll, not one per session: the benchmark's own
    # polling must not compete with the workers for the two cores.
    users = sorted({user_id for user_id, _ in sessions})
    unfinished = [SessionStatus.PENDING, SessionStatus.PROCESSING]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = sum(
            client.get_user(u, validate=False)
            .list_sessions(limit=1, status_filter=unfinished)
            .total
            for u in users
        )
        if waiting == 0:
            return sum(
                client.get_user(u, validate=False)
                .list_sessions(limit=1, status_filter=[SessionStatus.FAILED])
                .total
                for u in users
            )
        time.sleep(0.5)
    raise TimeoutError(f"sessions not processed within {timeout}s")


def run_layout(layout: str, data: list[Conversation], timeout: float) -> Result:
    in_process, separate = LAYOUTS[layout]
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'bench.db'}"
        with running_server(url, in_process_workers=in_process, worker_processes=separate) as (
            target,
            processes,
        ):
            with RecallrAI(
                api_key=API_KEY, project_id=PROJECT_ID, target=target, timeout=60
            ) as client:
                started = time.perf_counter()
                sessions = ingest(client, data)
                ingested = time.perf_counter()
                failed = process(client, sessions, timeout)
                processed = time.perf_counter()
                memories = sum(
                    client.get_user(c.sample_id).list_memories(limit=1).total for c in data
                )
            peak = sum(peak_rss_mib(p.pid) for p in processes)
    return Result(
        layout,
        len(sessions),
        sum(len(s.turns) for c in data for s in c.sessions),
        ingested - started,
        processed - ingested,
        memories,
        failed,
        peak,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    data = list(conversations())[: args.conversations]
    results: dict[str, list[Result]] = {layout: [] for layout in LAYOUTS}
    for _ in range(args.repeats):
        for layout in LAYOUTS:
            results[layout].append(run_layout(layout, data, args.timeout))
    print(
        f"{'layout':<20} {'sessions':>8} {'turns':>6} {'ingest s':>9} {'process s':>10} "
        f"{'sess/s':>7} {'mem/sess':>9} {'failed':>6} {'peak MiB':>9}"
    )
    for layout, runs in results.items():
        process_s = statistics.median(r.processing_seconds for r in runs)
        ingest_s = statistics.median(r.ingest_seconds for r in runs)
        last = runs[-1]
        print(
            f"{layout:<20} {last.sessions:>8} {last.turns:>6} {ingest_s:>9.1f} {process_s:>10.1f} "
            f"{last.sessions / process_s:>7.2f} {last.memories / last.sessions:>9.1f} "
            f"{last.failed:>6} {last.peak_rss_mib:>9.0f}"
        )
    base, other = (
        statistics.median(r.processing_seconds for r in runs) for runs in results.values()
    )
    print(f"processing time ratio (2 worker processes / in-process): {other / base:.2f}")


if __name__ == "__main__":
    main()
