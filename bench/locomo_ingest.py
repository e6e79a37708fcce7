"""Ingest benchmark: LoCoMo dev conversations processed into memories.

One user per conversation, one session per LoCoMo session with its historical
time, all through the public Python client against real server processes.
Two layouts run side by side on the same data: the server's in-process worker,
and a server beside two separate worker processes (one per core). With --bulk, the
in-process layout runs twice instead, loading the turns one AddMessage at a time and
with one ImportSession per session, and the memories processing makes of each are
compared.

    .venv/bin/python -m bench.locomo_ingest
    .venv/bin/python -m bench.locomo_ingest --bulk
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.locomo_data import PLAIN, Conversation, Transcript, conversations
from bench.server_process import API_KEY, PROJECT_ID, peak_rss_mib, running_server
from recallrai import RecallrAI, User
from recallrai.models import MessageRole, NewMessage, SessionStatus

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
    # What processing made of the conversations, comparable across runs (memories()).
    made: list[Any]


def _role(conversation: Conversation, speaker: str) -> MessageRole:
    return MessageRole.USER if speaker == conversation.speaker_a else MessageRole.ASSISTANT


def _metadata(
    conversation: Conversation, number: int, transcript: Transcript = PLAIN
) -> dict[str, Any]:
    return {"locomo_session": number, **transcript.session_metadata(conversation)}


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
                metadata=_metadata(conversation, locomo.number, transcript),
            )
            for turn in locomo.turns:
                session.add_message(
                    role=_role(conversation, turn.speaker), content=transcript.content(turn)
                )
            sessions.append((user_id, session.session_id))
    return sessions


def ingest_bulk(client: RecallrAI, data: list[Conversation]) -> list[tuple[str, str]]:
    """As `ingest`, with one ImportSession per LoCoMo session."""
    sessions = []
    for conversation in data:
        user = client.create_user(conversation.sample_id, metadata={"name": conversation.speaker_a})
        for locomo in conversation.sessions:
            session = user.import_session(
                [NewMessage(_role(conversation, t.speaker), t.text) for t in locomo.turns],
                custom_created_at_utc=locomo.time,
                metadata=_metadata(conversation, locomo.number),
                # As create_session's default, which `ingest` keeps.
                auto_process_after_seconds=600,
            )
            sessions.append((conversation.sample_id, session.session_id))
    return sessions


INGESTS: dict[str, Callable[[RecallrAI, list[Conversation]], list[tuple[str, str]]]] = {
    "one at a time": ingest,
    "bulk": ingest_bulk,
}


def _message_positions(user: User) -> dict[str, tuple[Any, int]]:
    """Each message id of the user as (LoCoMo session number, turn index)."""
    positions = {}
    for session in user.list_sessions(limit=200).sessions:
        metadata = session.metadata
        assert isinstance(metadata, dict)
        number = metadata["locomo_session"]
        for index, message in enumerate(session.get_messages(limit=200).messages):
            positions[message.message_id] = (number, index)
    return positions


def memories(client: RecallrAI, data: list[Conversation]) -> list[Any]:
    """Every memory of every user, with its versions and sources, without the ids and
    times that differ from run to run (sources as their turns' positions)."""
    made = []
    for conversation in data:
        user = client.get_user(conversation.sample_id)
        positions = _message_positions(user)
        offset, items = 0, []
        while True:
            page = user.list_memories(offset=offset, limit=200)
            items.extend(page.items)
            offset += len(page.items)
            if not page.has_more:
                break
        for memory in items:
            versions = [
                (v.content, v.expiration_reason, v.event_date_start)
                for v in memory.previous_versions or []
            ]
            sources = sorted(positions[m] for m in memory.source_message_ids or [])
            made.append(
                (
                    conversation.sample_id,
                    memory.content,
                    tuple(memory.categories),
                    memory.event_date_start,
                    memory.event_date_end,
                    memory.total_versions,
                    tuple(versions),
                    tuple(sources),
                    tuple(sorted(c.content for c in memory.connected_memories or [])),
                )
            )
    return sorted(made, key=repr)


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


def run_layout(
    layout: str, data: list[Conversation], timeout: float, how: str = "one at a time"
) -> Result:
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
                sessions = INGESTS[how](client, data)
                ingested = time.perf_counter()
                failed = process(client, sessions, timeout)
                processed = time.perf_counter()
                made = memories(client, data)
            peak = sum(peak_rss_mib(p.pid) for p in processes)
    return Result(
        layout if how == "one at a time" else f"{layout}, {how}",
        len(sessions),
        sum(len(s.turns) for c in data for s in c.sessions),
        ingested - started,
        processed - ingested,
        len(made),
        failed,
        peak,
        made,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="compare loading one message at a time with ImportSession (in-process worker)",
    )
    args = parser.parse_args()
    data = list(conversations())[: args.conversations]
    runs = (
        [("in-process worker", how) for how in INGESTS]
        if args.bulk
        else [(layout, "one at a time") for layout in LAYOUTS]
    )
    results: dict[tuple[str, str], list[Result]] = {run: [] for run in runs}
    for _ in range(args.repeats):
        for layout, how in runs:
            results[(layout, how)].append(run_layout(layout, data, args.timeout, how))
    report(results)
    first, second = (repeats[-1] for repeats in results.values())
    if args.bulk:
        ratio = second.ingest_seconds / first.ingest_seconds
        print(f"ingest time ratio (bulk / one at a time): {ratio:.3f}")
        same = first.made == second.made
        print(
            f"memories equal: {'yes' if same else 'NO'} ({len(first.made)} and {len(second.made)})"
        )
    else:
        base, other = (
            statistics.median(r.processing_seconds for r in repeats) for repeats in results.values()
        )
        print(f"processing time ratio (2 worker processes / in-process): {other / base:.2f}")


def report(results: dict[tuple[str, str], list[Result]]) -> None:
    print(
        f"{'layout':<31} {'sessions':>8} {'turns':>6} {'ingest s':>9} {'process s':>10} "
        f"{'sess/s':>7} {'mem/sess':>9} {'failed':>6} {'peak MiB':>9}"
    )
    for runs in results.values():
        process_s = statistics.median(r.processing_seconds for r in runs)
        ingest_s = statistics.median(r.ingest_seconds for r in runs)
        last = runs[-1]
        print(
            f"{last.layout:<31} {last.sessions:>8} {last.turns:>6} {ingest_s:>9.2f} "
            f"{process_s:>10.1f} {last.sessions / process_s:>7.2f} "
            f"{last.memories / last.sessions:>9.1f} {last.failed:>6} {last.peak_rss_mib:>9.0f}"
        )


if __name__ == "__main__":
    main()
