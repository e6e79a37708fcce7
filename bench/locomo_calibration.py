"""Fits recall's relevance scale on the LoCoMo tuning conversations, and shows what each
threshold keeps.

Reads a database `bench.locomo --reuse-db` ingested (plain and labelled transcripts of
the tuning split), builds each user's recall index in process and searches it for every
question as the client's default call does (BALANCED, no model). Every candidate the
search scores is one example: a memory or raw message, labelled relevant when it was
drawn from (or is) an evidence turn of the question. A logistic model per kind is fitted
with both classes weighted equally, so a relevance of 0.5 means "as likely a relevant
text as an unrelated candidate" whatever share of the candidates is relevant. It prints
the fitted coefficients (copied into `engine/recall/retrieval.py`) and a table of
recall@10 and context size against the threshold, for docs/context.md.

    .venv/bin/python -m bench.locomo_calibration --reuse-db .scratch/locomo.db [--fit]
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from bench.locomo import QUESTION_DELAY, Question, progress, questions
from bench.locomo_data import LABELLED, PLAIN, Conversation, Transcript, conversations
from bench.server_process import PROJECT_ID
from recallr_server.domain.context import Strategy
from recallr_server.domain.speakers import USER_NAME_KEY, speaker_name
from recallr_server.engine.embeddings import MiniLMEmbedder
from recallr_server.engine.recall.index import IndexCache, UserIndex
from recallr_server.engine.recall.retrieval import (
    Limits,
    memory_features,
    message_features,
    plan_query,
    recall,
    score,
    shown_sources,
)
from recallr_server.store import models
from recallr_server.store.database import Database
from recallr_server.store.lookups import find_user

THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# The client's default call at k = 10.
MIN_TOP_K, MAX_TOP_K = 5, 10
# Keeps the fit finite when a feature separates the classes.
L2 = 1e-3


@dataclass
class Examples:
    """Feature rows and labels of one kind of candidate."""

    rows: list[NDArray[np.float64]] = field(default_factory=list)
    labels: list[NDArray[np.bool_]] = field(default_factory=list)

    def add(self, features: NDArray[np.float64], relevant: NDArray[np.bool_]) -> None:
        self.rows.append(features)
        self.labels.append(relevant)

    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        return np.vstack(self.rows), np.concatenate(self.labels)


@dataclass
class Sweep:
    """Per threshold: evidence recall and items of each question's default context."""

    recall: dict[float, list[float]] = field(default_factory=lambda: defaultdict(list))
    items: dict[float, list[int]] = field(default_factory=lambda: defaultdict(list))


def fit(features: NDArray[np.float64], labels: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Logistic regression by Newton's method, positives and negatives weighted equally."""
    x = np.hstack([np.ones((len(features), 1)), features])
    y = labels.astype(np.float64)
    weights = np.where(labels, 0.5 / max(1, labels.sum()), 0.5 / max(1, (~labels).sum()))
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ beta)))
        gradient = x.T @ (weights * (p - y)) + L2 * beta
        hessian = (x * (weights * p * (1 - p))[:, None]).T @ x + L2 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return beta


def dia_ids(conversation: Conversation, rows: Sequence[tuple[str, Any]]) -> dict[str, str]:
    """message id -> dia id, from (message id, session metadata) rows in message order."""
    turns = {s.number: [t.dia_id for t in s.turns] for s in conversation.sessions}
    by_session: dict[int, list[str]] = defaultdict(list)
    for message_id, metadata in rows:
        if "locomo_session" in metadata:
            by_session[int(metadata["locomo_session"])].append(message_id)
    return {
        message_id: turns[number][position]
        for number, ids in by_session.items()
        for position, message_id in enumerate(ids)
    }


@asynccontextmanager
async def user_index(
    db: Database, cache: IndexCache, conversation: Conversation, transcript: Transcript
) -> AsyncIterator[tuple[UserIndex, dict[str, str]]]:
    async with db.read() as tx:
        user = await find_user(tx, PROJECT_ID, transcript.user_id(conversation))
        rows = await tx.execute(
            select(models.Message.id, models.Session.metadata_)
            .join(models.Session, models.Message.session_id == models.Session.id)
            .where(models.Session.user_pk == user.pk)
            .order_by(models.Message.seq)
        )
        turns = dia_ids(conversation, [(key, metadata) for key, metadata in rows])
        name = speaker_name(user.metadata_, USER_NAME_KEY)
        async with cache.current(
            tx, user.pk, user.index_revision, user.message_revision, name
        ) as index:
            yield index, turns


def evidence_labels(
    index: UserIndex, question: Question, turns: dict[str, str]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Which memories and messages of the index come from the question's evidence turns."""
    memories = np.array(
        [
            doc is not None
            and any(turns.get(m) in question.evidence for m in doc.source_message_ids)
            for doc in index.memories.docs
        ],
        dtype=np.bool_,
    )
    messages = np.array(
        [doc is not None and turns.get(doc.id) in question.evidence for doc in index.messages.docs],
        dtype=np.bool_,
    )
    return memories, messages


def ask(
    index: UserIndex,
    turns: dict[str, str],
    question: Question,
    plan_time: datetime,
    embedder: MiniLMEmbedder,
    found: tuple[Examples, Examples],
    sweep: Sweep,
    thresholds: Sequence[float],
) -> None:
    plan = plan_query([question.text], Strategy.BALANCED, plan_time)
    vectors = embedder.embed(plan.dense_queries)
    scored = score(index, plan, vectors, set())
    memory_relevant, message_relevant = evidence_labels(index, question, turns)
    memories = scored.memory_total > 0
    messages = scored.message_total > 0
    found[0].add(memory_features(scored)[memories], memory_relevant[memories])
    found[1].add(message_features(scored)[messages], message_relevant[messages])
    for threshold in thresholds:
        limits = Limits(MIN_TOP_K, MAX_TOP_K, threshold, threshold, 0)
        recalled = recall(index, plan, vectors, limits, set())
        covered = {turns.get(m.id) for m in recalled.messages}
        for memory in recalled.memories:
            covered |= {turns.get(m) for m in shown_sources(index, memory.doc)}
        sweep.recall[threshold].append(len(question.evidence & covered) / len(question.evidence))
        sweep.items[threshold].append(len(recalled.memories) + len(recalled.messages))


async def measure(
    database: Path, thresholds: Sequence[float], every: int = 1
) -> tuple[Examples, Examples, dict[bool, Sweep]]:
    db = Database(f"sqlite:///{database}")
    embedder = MiniLMEmbedder.load()
    cache = IndexCache(embedder.dimensions)
    found = (Examples(), Examples())
    sweeps = {False: Sweep(), True: Sweep()}
    for transcript in (PLAIN, LABELLED):
        for conversation in conversations(split="tune"):
            asked, _ = questions(conversation)
            asked = [q for q in asked if q.category in (1, 2, 3, 4)][::every]
            asked_at = conversation.sessions[-1].time + QUESTION_DELAY
            async with user_index(db, cache, conversation, transcript) as (index, turns):
                for question in asked:
                    sweep = sweeps[transcript.labelled]
                    ask(index, turns, question, asked_at, embedder, found, sweep, thresholds)
            progress(f"{transcript.user_id(conversation)}: asked {len(asked)}")
    await db.dispose()
    return found[0], found[1], sweeps


def sweep_table(sweeps: dict[bool, Sweep], thresholds: Sequence[float]) -> str:
    lines = [
        "| threshold | recall@10, plain | items, plain | recall@10, labelled | items, labelled |",
        "|---|---|---|---|---|",
    ]
    for threshold in thresholds:
        cells = [f"{threshold:.1f}"]
        for labelled in (False, True):
            sweep = sweeps[labelled]
            cells += [
                f"{np.mean(sweep.recall[threshold]):.3f}",
                f"{np.mean(sweep.items[threshold]):.1f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse-db", type=Path, required=True)
    parser.add_argument("--fit", action="store_true", help="print fitted coefficients")
    parser.add_argument("--thresholds", type=float, nargs="+", default=THRESHOLDS)
    parser.add_argument("--every", type=int, default=1, help="ask every Nth question only")
    args = parser.parse_args()
    memories, messages, sweeps = asyncio.run(measure(args.reuse_db, args.thresholds, args.every))
    if args.fit:
        for kind, examples in (("memories", memories), ("messages", messages)):
            features, labels = examples.arrays()
            beta = fit(features, labels)
            print(f"{kind}: {len(labels)} candidates, {labels.sum()} relevant; {beta.round(3)}")
    print(sweep_table(sweeps, args.thresholds))


if __name__ == "__main__":
    main()
