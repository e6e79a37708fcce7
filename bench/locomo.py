"""LoCoMo context recall: does the context Recallr recalls hold the turns that answer a question?

Each LoCoMo dev conversation is ingested through the public client with its historical
session times and processed into memories. Every question is then asked in a fresh session
of that user, and `get_context` (LOW_LATENCY unless `--strategy` says otherwise) is called
with `max_top_k` = k, half of it guaranteed to memories (`min_top_k` = k // 2, or
`--memory-share`) and no
relevance threshold, so that k items compete for k places. A question's
evidence recall is the fraction of its evidence turns the context covers: a turn counts
when the context lists its message, or a memory extracted from it. BM25 and dense MiniLM
rankings of the raw dated turns run over the same questions as baselines.

Within a token budget (all-MiniLM-L6-v2 word pieces), a baseline keeps the largest prefix
of its ranked turns that fits, and Recallr the context of the largest max_top_k whose whole
text fits: its text groups memories, summaries and messages by kind rather than listing
one ranking, so the server's own cut at k is the only faithful prefix. Method, figures and
caveats: docs/benchmarks/locomo.md.

    .venv/bin/python -m bench.locomo [--strategy low_latency balanced]
"""

from __future__ import annotations

import argparse
import functools
import importlib.resources
import itertools
import math
import platform
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer

from bench.locomo_data import LABELLED, PLAIN, SPLITS, Conversation, Transcript, conversations
from bench.locomo_ingest import ingest, process
from bench.server_process import API_KEY, PROJECT_ID, free_port, running_server
from recallr_server.domain.context import MAX_TOP_K
from recallr_server.engine.embeddings import MODEL_PACKAGE, MiniLMEmbedder
from recallrai import RecallrAI, Session, User
from recallrai.exceptions import UserNotFoundError
from recallrai.models import (
    ContextMetadata,
    ContextResponse,
    Message,
    MessageRole,
    RecallStrategy,
    SessionStatus,
)

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
ANSWERABLE = (1, 2, 3, 4)
BUDGETS = (1000, 2000)
ROOT = Path(__file__).resolve().parents[1]
PLOT = ROOT / "docs" / "benchmarks" / "locomo-recall.png"
# Okapi BM25 as usually tuned (Robertson et al.; Lucene's defaults).
BM25_K1 = 1.2
BM25_B = 0.75
# Questions are asked just after the conversation ends, as an assistant would be.
QUESTION_DELAY = timedelta(hours=1)
_WORD = re.compile(r"\w+")
# Well-formed ids are "D<session>:<turn>"; the data also holds "D:11:26" and "D8:6; D9:17".
_EVIDENCE_ID = re.compile(r"D:?(\d+):(\d+)")
_RPC_SECONDS_SUM = re.compile(
    r'^recallr_rpc_duration_seconds_sum\{method="([^"]+)"\}\s+(\S+)$', re.MULTILINE
)

T = TypeVar("T")


@dataclass(frozen=True)
class Question:
    conversation: str
    category: int
    text: str
    evidence: frozenset[str]  # dia ids of the turns that answer it


@dataclass(frozen=True)
class Coverage:
    """The dia ids one system's context covered for one question, per k and per budget."""

    at_k: Mapping[int, frozenset[str]]
    in_budget: Mapping[int, frozenset[str]]


@dataclass
class Latencies:
    """Per-call seconds of one RPC, measured by the client and reported by the server."""

    client: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    """One ranked piece of context: the turns it covers and its size in tokens."""

    dia_ids: frozenset[str]
    tokens: int


def questions(conversation: Conversation) -> tuple[list[Question], int]:
    """The questions with at least one evidence id naming a real turn, and how many had none."""
    turns = {turn.dia_id for session in conversation.sessions for turn in session.turns}
    kept, skipped = [], 0
    for qa in conversation.qa:
        ids = {
            f"D{session}:{turn}"
            for raw in qa.get("evidence") or ()
            for session, turn in _EVIDENCE_ID.findall(raw)
        }
        evidence = frozenset(ids & turns)
        if evidence:
            kept.append(Question(conversation.sample_id, qa["category"], qa["question"], evidence))
        else:
            skipped += 1
    return kept, skipped


def coverage(items: Sequence[Item], ks: Sequence[int]) -> Coverage:
    """Top-k coverage of a ranking, and its largest prefix within each token budget."""
    in_budget = {}
    for budget in BUDGETS:
        covered: set[str] = set()
        used = 0
        for item in items:
            used += item.tokens
            if used > budget:
                break
            covered |= item.dia_ids
        in_budget[budget] = frozenset(covered)
    at_k = {k: frozenset().union(*(item.dia_ids for item in items[:k])) for k in ks}
    return Coverage(at_k, in_budget)


def recall(question: Question, covered: frozenset[str]) -> float:
    return len(question.evidence & covered) / len(question.evidence)


# Baselines over the raw turns ---------------------------------------------------------------


def word_tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class Bm25:
    """Okapi BM25 with Lucene's non-negative idf, log(1 + (N - n + 0.5) / (n + 0.5))."""

    def __init__(self, documents: Sequence[str]) -> None:
        tokenised = [word_tokens(document) for document in documents]
        lengths = np.array([len(tokens) for tokens in tokenised], dtype=np.float64)
        self._size = len(documents)
        self._norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / lengths.mean())
        postings: dict[str, dict[int, int]] = defaultdict(dict)
        for index, tokens in enumerate(tokenised):
            for term, count in Counter(tokens).items():
                postings[term][index] = count
        self._postings = {
            term: (np.fromiter(docs.keys(), np.intp), np.fromiter(docs.values(), np.float64))
            for term, docs in postings.items()
        }

    def scores(self, query: str) -> NDArray[np.float64]:
        scores = np.zeros(self._size)
        # Every occurrence of a query term counts, as in the usual formulation.
        for term in word_tokens(query):
            if term not in self._postings:
                continue
            docs, tf = self._postings[term]
            idf = math.log(1 + (self._size - len(docs) + 0.5) / (len(docs) + 0.5))
            scores[docs] += idf * tf * (BM25_K1 + 1) / (tf + self._norm[docs])
        return scores


def dated_turns(conversation: Conversation) -> tuple[list[str], list[str]]:
    """Each turn as '[8 May 2023] Caroline: text', with its dia id, in conversation order."""
    texts, dia_ids = [], []
    for session in conversation.sessions:
        for turn in session.turns:
            texts.append(f"[{session.time:%-d %B %Y}] {turn.speaker}: {turn.text}")
            dia_ids.append(turn.dia_id)
    return texts, dia_ids


def rank_turns(
    scores: NDArray[np.float64] | NDArray[np.float32], dia_ids: Sequence[str], sizes: Sequence[int]
) -> list[Item]:
    # A stable sort keeps ties in conversation order, so runs are reproducible.
    order = np.argsort(-scores, kind="stable")
    return [Item(frozenset((dia_ids[i],)), sizes[i]) for i in order]


def run_baselines(
    data: Sequence[Conversation],
    asked: Mapping[str, Sequence[Question]],
    ks: Sequence[int],
    count_tokens: Callable[[str], int],
) -> dict[str, list[Coverage]]:
    embedder = MiniLMEmbedder.load()
    results: dict[str, list[Coverage]] = {"BM25": [], "dense MiniLM": []}
    for conversation in data:
        texts, dia_ids = dated_turns(conversation)
        sizes = [count_tokens(text) for text in texts]
        queries = [question.text for question in asked[conversation.sample_id]]
        progress(f"{conversation.sample_id}: baselines over {len(texts)} turns")
        bm25 = Bm25(texts)
        turn_vectors = embedder.embed(texts)
        query_vectors = embedder.embed(queries)
        for query, vector in zip(queries, query_vectors, strict=True):
            results["BM25"].append(coverage(rank_turns(bm25.scores(query), dia_ids, sizes), ks))
            dense = rank_turns(turn_vectors @ vector, dia_ids, sizes)
            results["dense MiniLM"].append(coverage(dense, ks))
    return results


# Recallr through the public client ----------------------------------------------------------


class ServerClock:
    """Server-side seconds of each RPC, from the server's Prometheus duration histogram.

    The benchmark is the only caller, so the growth of a method's `_sum` between two
    scrapes is exactly the handling time of the one call made in between.
    """

    def __init__(self, listen: str) -> None:
        self._url = f"http://{listen}/metrics"
        self._sums = self._scrape()

    def _scrape(self) -> dict[str, float]:
        with urllib.request.urlopen(self._url, timeout=10) as response:
            text = response.read().decode()
        return {method: float(value) for method, value in _RPC_SECONDS_SUM.findall(text)}

    def last_call(self, method: str) -> float:
        sums = self._scrape()
        seconds = sums.get(method, 0.0) - self._sums.get(method, 0.0)
        self._sums = sums
        return seconds


def timed(latencies: Latencies, clock: ServerClock, method: str, call: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = call()
    latencies.client.append(time.perf_counter() - started)
    latencies.server.append(clock.last_call(method))
    return result


def message_turns(
    client: RecallrAI, conversation: Conversation, transcript: Transcript
) -> dict[str, str]:
    """message id -> dia id, read back through `get_messages` and checked turn by turn."""
    user = client.get_user(transcript.user_id(conversation))
    listed: list[Session] = []
    while True:
        page = user.list_sessions(offset=len(listed), limit=200)
        listed += page.sessions
        if not page.has_more:
            break
    stored: dict[int, Session] = {}
    for session in listed:
        metadata = session.metadata
        if isinstance(metadata, dict) and "locomo_session" in metadata:
            stored[int(metadata["locomo_session"])] = session
        else:
            # A question session left behind by an interrupted run would be recalled.
            session.delete()
    mapping: dict[str, str] = {}
    for locomo in conversation.sessions:
        found = stored.get(locomo.number)
        if found is None or found.status != SessionStatus.PROCESSED:
            raise RuntimeError(
                f"{conversation.sample_id} session {locomo.number} is missing or unprocessed "
                "in the database; delete it and run again"
            )
        messages: list[Message] = []
        while len(messages) < len(locomo.turns) + 1:
            page_of = found.get_messages(offset=len(messages), limit=200)
            messages += page_of.messages
            if not page_of.has_more:
                break
        contents = [message.content for message in messages]
        if contents != [transcript.content(turn) for turn in locomo.turns]:
            raise RuntimeError(f"{conversation.sample_id} session {locomo.number} differs")
        mapping.update(
            (message.message_id, turn.dia_id)
            for message, turn in zip(messages, locomo.turns, strict=True)
        )
    return mapping


class MemorySources:
    """memory id -> the dia ids it was extracted from, fetched once per memory."""

    def __init__(self, turns: Mapping[str, str]) -> None:
        self._turns = turns
        self._cache: dict[str, frozenset[str]] = {}

    def __call__(self, user: User, memory_id: str) -> frozenset[str]:
        if memory_id not in self._cache:
            memory = user.get_memory(
                memory_id, include_previous_versions=False, include_connected_memories=False
            )
            self._cache[memory_id] = frozenset(
                self._turns[m] for m in memory.source_message_ids if m in self._turns
            )
        return self._cache[memory_id]


@dataclass(frozen=True)
class CallStyle:
    """How the benchmark asks for a context of k items.

    The benchmark's own call gives `max_top_k` = k, guarantees `memory_share` of it to
    memories and sets no memory threshold, so that k items compete for k places. The
    client's defaults give only `min_top_k` = k // 2 and `max_top_k` = k, as an
    application would (at k = 10: min_top_k=5, max_top_k=10), leaving the strategy and
    both thresholds to the client; `zero_thresholds` is that call with both thresholds 0.
    """

    strategy: RecallStrategy | None = RecallStrategy.LOW_LATENCY
    memory_share: float = 0.5
    zero_thresholds: bool = False

    @property
    def defaults(self) -> bool:
        return self.strategy is None

    @property
    def label(self) -> str:
        if self.defaults:
            return "client defaults" + (", thresholds 0" if self.zero_thresholds else "")
        assert self.strategy is not None
        if self.memory_share == 0.5:
            return self.strategy.name
        share = "k" if self.memory_share == 1 else f"{self.memory_share:g}k"
        return f"{self.strategy.name}, min_top_k = {share}"

    def options(self, k: int) -> dict[str, Any]:
        measured: dict[str, Any] = {"include_metadata_ids": True, "include_system_prompt": False}
        if self.defaults:
            thresholds = (
                {"memories_threshold": 0.0, "summaries_threshold": 0.0}
                if self.zero_thresholds
                else {}
            )
            return {"min_top_k": max(1, k // 2), "max_top_k": k, **thresholds, **measured}
        return {
            "recall_strategy": self.strategy,
            "min_top_k": max(1, int(k * self.memory_share)),
            "max_top_k": k,
            "memories_threshold": 0.0,
            **measured,
        }


@dataclass
class RecallrRun:
    call: CallStyle
    transcript: Transcript = PLAIN
    coverage: list[Coverage] = field(default_factory=list)
    context: dict[int, Latencies] = field(default_factory=lambda: defaultdict(Latencies))
    trivial: Latencies = field(default_factory=Latencies)
    nested: int = 0  # questions whose smaller-k contexts are subsets of the larger ones
    # Word pieces of each section of the context text, per k, one Counter per question.
    sections: dict[int, list[Counter[str]]] = field(default_factory=lambda: defaultdict(list))
    strategies: Counter[str] = field(default_factory=Counter)

    @property
    def label(self) -> str:
        labelled = ", labelled messages" if self.transcript.labelled else ""
        return f"Recallr {self.call.label}{labelled}"

    @property
    def budgets(self) -> bool:
        """Whether token budgets are measured: for the benchmark's own call, where k items
        always fill k places; a thresholded call may stop short of any budget."""
        return not self.call.defaults


def recalled_ids(context: ContextResponse) -> tuple[list[str], list[str]]:
    """The (memory ids, message ids) of a context recalled with include_metadata_ids."""
    metadata = final_metadata(context)
    assert metadata.memory_ids is not None and metadata.message_ids is not None
    return metadata.memory_ids, metadata.message_ids


def final_metadata(context: ContextResponse) -> ContextMetadata:
    assert context.metadata is not None, "a final context always has metadata"
    return context.metadata


def context_covers(
    context: ContextResponse, user: User, turns: Mapping[str, str], sources: MemorySources
) -> frozenset[str]:
    memory_ids, message_ids = recalled_ids(context)
    covered = {turns[m] for m in message_ids if m in turns}
    for memory_id in memory_ids:
        covered |= sources(user, memory_id)
    return frozenset(covered)


def largest_fitting_k(
    tokens_at: Callable[[int], int], budget: int, known: Mapping[int, int]
) -> int:
    """The largest max_top_k whose context fits the budget (0 when none does).

    `tokens_at` must be cheap on repeated k. A context grows with k about linearly, so a
    round probes where the line through the bracket's ends meets the budget, and that
    k's neighbour: usually two calls settle it. A round that does not halve the bracket
    is followed by a bisection, which bounds the calls however the sizes behave.
    """
    too_big = min((k for k, tokens in known.items() if tokens > budget), default=MAX_TOP_K + 1)
    fits = max((k for k, tokens in known.items() if tokens <= budget and k < too_big), default=0)

    def probe(k: int) -> None:
        nonlocal fits, too_big
        if tokens_at(k) <= budget:
            fits = k
        else:
            too_big = k

    bisect = False
    while too_big - fits > 1:
        width = too_big - fits
        base = tokens_at(fits) if fits else 0
        if too_big <= MAX_TOP_K:
            rate = (tokens_at(too_big) - base) / width
        else:
            rate = base / fits if fits else 0
        if bisect or rate <= 0:
            probe((fits + too_big) // 2)
        else:
            guess = min(max(fits + int((budget - base) / rate), fits + 1), too_big - 1)
            probe(guess)
            neighbour = guess + 1 if fits == guess else guess - 1
            if fits < neighbour < too_big:
                probe(neighbour)
        bisect = not bisect and too_big - fits > width // 2
    return fits


def section_tokens(text: str, count_tokens: Callable[[str], int]) -> Counter[str]:
    """Word pieces per "## " section of a context text, headings included, and in total."""
    sizes: Counter[str] = Counter()
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line.removeprefix("## ")
        tokens = count_tokens(line)
        sizes[section] += tokens
        sizes["total"] += tokens
    return sizes


class QuestionContexts:
    """The contexts recalled for one question's session, each max_top_k fetched once."""

    def __init__(
        self,
        session: Session,
        clock: ServerClock,
        run: RecallrRun,
        count_tokens: Callable[[str], int],
    ) -> None:
        self._session = session
        self._clock = clock
        self._run = run
        self._count_tokens = count_tokens
        self.contexts: dict[int, ContextResponse] = {}
        self.tokens: dict[int, int] = {}

    def at(self, k: int) -> ContextResponse:
        if k not in self.contexts:
            recall = functools.partial(self._session.get_context, **self._run.call.options(k))
            context = timed(
                self._run.context[k], self._clock, "recallr.v1.ContextService.RecallContext", recall
            )
            used = final_metadata(context).recall_strategy_used
            assert used is not None, "a final context names the strategy used"
            self._run.strategies[used.value] += 1
            self.contexts[k] = context
            self.tokens[k] = self._count_tokens(context.context or "")
        return self.contexts[k]

    def tokens_at(self, k: int) -> int:
        self.at(k)
        return self.tokens[k]


def ask_recallr(
    client: RecallrAI,
    clock: ServerClock,
    conversation: Conversation,
    asked: Sequence[Question],
    ks: Sequence[int],
    count_tokens: Callable[[str], int],
    run: RecallrRun,
) -> None:
    transcript = run.transcript
    turns = message_turns(client, conversation, transcript)
    sources = MemorySources(turns)
    user = client.get_user(transcript.user_id(conversation))
    asked_at = conversation.sessions[-1].time + QUESTION_DELAY
    for index, question in enumerate(asked, 1):
        session = user.create_session(
            custom_created_at_utc=asked_at,
            metadata={"locomo_question": index, **transcript.session_metadata(conversation)},
        )
        session.add_message(role=MessageRole.USER, content=question.text)
        timed(run.trivial, clock, "recallr.v1.UserService.GetUser", user.refresh)
        recalled = QuestionContexts(session, clock, run, count_tokens)
        at_k = {k: context_covers(recalled.at(k), user, turns, sources) for k in ks}
        in_budget = {}
        for budget in BUDGETS if run.budgets else ():
            k = largest_fitting_k(recalled.tokens_at, budget, recalled.tokens)
            in_budget[budget] = (
                context_covers(recalled.at(k), user, turns, sources) if k else frozenset()
            )
        session.delete()
        for k in ks:
            run.sections[k].append(section_tokens(recalled.at(k).context or "", count_tokens))
        listed = [set().union(*recalled_ids(recalled.at(k))) for k in ks]
        run.nested += all(a <= b for a, b in itertools.pairwise(listed))
        run.coverage.append(Coverage(at_k, in_budget))
        if index % 25 == 0 or index == len(asked):
            progress(f"{transcript.user_id(conversation)}: asked {index}/{len(asked)}")


@contextmanager
def recallr_client(
    data: Sequence[Conversation],
    reuse_db: Path | None,
    timeout: float,
    transcripts: Sequence[Transcript] = (PLAIN,),
) -> Iterator[tuple[RecallrAI, ServerClock]]:
    """A client of a server holding every conversation, ingested and processed, once per
    transcript."""
    with tempfile.TemporaryDirectory() as scratch:
        database = reuse_db or Path(scratch) / "locomo.db"
        listen = f"127.0.0.1:{free_port()}"
        with (
            running_server(
                f"sqlite:///{database}",
                in_process_workers=1,
                worker_processes=0,
                # One serving process: the server clock reads one process's metrics.
                extra_env={"RECALLR_METRICS_LISTEN": listen, "RECALLR_PROCESSES": "1"},
            ) as (target, _),
            RecallrAI(api_key=API_KEY, project_id=PROJECT_ID, target=target, timeout=60) as client,
        ):
            sessions = []
            for transcript in transcripts:
                missing = [c for c in data if not user_exists(client, transcript.user_id(c))]
                if missing:
                    progress(f"ingesting {len(missing)} conversations into {database}")
                    sessions += ingest(client, missing, transcript)
            if sessions:
                progress(f"processing {len(sessions)} sessions (timeout {timeout:.0f}s)")
                started = time.perf_counter()
                failed = process(client, sessions, timeout)
                progress(f"processed in {time.perf_counter() - started:.0f}s, {failed} failed")
            yield client, ServerClock(listen)


def user_exists(client: RecallrAI, user_id: str) -> bool:
    try:
        client.get_user(user_id)
    except UserNotFoundError:
        return False
    return True


# Report ---------------------------------------------------------------------------------------


def mean_recall(
    asked: Sequence[Question], covered: Sequence[frozenset[str]], categories: Sequence[int]
) -> float:
    values = [recall(q, c) for q, c in zip(asked, covered, strict=True) if q.category in categories]
    return statistics.fmean(values) if values else math.nan


COLUMNS: tuple[tuple[str, tuple[int, ...]], ...] = (
    *((f"{number} {name}", (number,)) for number, name in CATEGORIES.items() if number != 5),
    ("1-4", ANSWERABLE),
    ("5 adversarial", (5,)),
)


def table(
    asked: Sequence[Question], results: Mapping[str, Sequence[Coverage]], ks: Sequence[int]
) -> str:
    counts = Counter(question.category for question in asked)
    header = ["system", "context"] + [
        f"{label} (n={sum(counts[c] for c in cats)})" for label, cats in COLUMNS
    ]
    rows = []
    for system, coverages in results.items():
        measures = [(f"top {k}", [c.at_k[k] for c in coverages]) for k in ks]
        if coverages and coverages[0].in_budget:
            measures += [
                (f"{budget} tokens", [c.in_budget[budget] for c in coverages]) for budget in BUDGETS
            ]
        for label, covered in measures:
            values = [mean_recall(asked, covered, cats) for _, cats in COLUMNS]
            rows.append([system, label] + [f"{value:.3f}" for value in values])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency_table(run: RecallrRun, ks: Sequence[int]) -> str:
    lines = [
        "| call | client p50 ms | client p95 ms | server p50 ms | server p95 ms |",
        "|---|---|---|---|---|",
    ]
    calls = [(f"RecallContext max_top_k={k}", run.context[k]) for k in ks]
    for label, latencies in [*calls, ("GetUser (trivial RPC)", run.trivial)]:
        figures = [
            percentile(values, fraction) * 1000
            for values in (latencies.client, latencies.server)
            for fraction in (0.5, 0.95)
        ]
        lines.append(f"| {label} | " + " | ".join(f"{f:.1f}" for f in figures) + " |")
    return "\n".join(lines)


def size_table(run: RecallrRun, ks: Sequence[int]) -> str:
    names = sorted({name for k in ks for sizes in run.sections[k] for name in sizes} - {"total"})
    columns = ["total", *names]
    lines = [
        "| context | " + " | ".join(f"{name} (median)" for name in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for k in ks:
        medians = [statistics.median(sizes[name] for sizes in run.sections[k]) for name in columns]
        lines.append(f"| top {k} | " + " | ".join(f"{m:.0f}" for m in medians) + " |")
    return "\n".join(lines)


def plot(
    asked: Sequence[Question],
    results: Mapping[str, Sequence[Coverage]],
    ks: Sequence[int],
    path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=(12, 7), sharex=True, sharey=True)
    for axis, (label, categories) in zip(axes.flat, COLUMNS, strict=True):
        for system, coverages in results.items():
            values = [mean_recall(asked, [c.at_k[k] for c in coverages], categories) for k in ks]
            axis.plot(ks, values, marker="o", label=system)
        axis.set_title(f"{label} (n={sum(q.category in categories for q in asked)})")
        axis.set_xticks(list(ks))
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    for axis in axes[1]:
        axis.set_xlabel("k (context items)")
    for axis in axes[:, 0]:
        axis.set_ylabel("evidence recall")
    axes.flat[0].legend(loc="lower right")
    figure.suptitle("LoCoMo dev: evidence recall@k by question category")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def word_piece_counter() -> Callable[[str], int]:
    """Counts all-MiniLM-L6-v2 word pieces, without the [CLS]/[SEP] markers or truncation."""
    tokenizer_file = importlib.resources.files(MODEL_PACKAGE) / "model" / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


def recallr_runs(args: argparse.Namespace) -> list[RecallrRun]:
    """The runs asked for: each strategy's benchmark call, the client's defaults (with and
    without thresholds), each over plain transcripts and, with --labelled, labelled ones."""
    if args.baselines_only:
        return []
    calls = [CallStyle(strategy, args.memory_share) for strategy in args.strategy]
    if args.defaults:
        calls += [CallStyle(None), CallStyle(None, zero_thresholds=True)]
    transcripts = [PLAIN, LABELLED] if args.labelled else [PLAIN]
    return [RecallrRun(call, transcript) for transcript in transcripts for call in calls]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="all",
        help="conversations to ask: tune (3), holdout (2) or all (default)",
    )
    parser.add_argument("--conversations", type=int, default=5, help="the split's first N")
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument(
        "--reuse-db", type=Path, help="SQLite file to ingest into once and reuse on later runs"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="processing time limit, s")
    parser.add_argument("--baselines-only", action="store_true", help="skip the server")
    parser.add_argument(
        "--strategy",
        nargs="*",
        type=RecallStrategy,
        default=[RecallStrategy.LOW_LATENCY],
        choices=list(RecallStrategy),
        help="recall strategies to measure with the benchmark's call (default: low_latency)",
    )
    parser.add_argument(
        "--memory-share",
        type=float,
        default=0.5,
        help="share of k asked for as min_top_k, guaranteed to memories (default 0.5)",
    )
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="also call with the client's defaults (only min_top_k = k // 2 and max_top_k = k)"
        ", and that call with thresholds 0",
    )
    parser.add_argument(
        "--labelled",
        action="store_true",
        help='repeat every run on messages sent as "Speaker: text" with no names in metadata',
    )
    parser.add_argument("--plot", type=Path, default=PLOT)
    return parser.parse_args()


def main() -> None:
    args = arguments()
    ks = sorted(set(args.k))
    data = list(conversations(split=args.split))[: args.conversations]
    asked: dict[str, list[Question]] = {}
    skipped = 0
    for conversation in data:
        asked[conversation.sample_id], none = questions(conversation)
        skipped += none
    every = [question for conversation in data for question in asked[conversation.sample_id]]
    count_tokens = word_piece_counter()
    runs = recallr_runs(args)
    if runs:
        transcripts = list(dict.fromkeys(run.transcript for run in runs))
        with recallr_client(data, args.reuse_db, args.timeout, transcripts) as (client, clock):
            for run in runs:
                for conversation in data:
                    ask_recallr(
                        client,
                        clock,
                        conversation,
                        asked[conversation.sample_id],
                        ks,
                        count_tokens,
                        run,
                    )
    results = {run.label: run.coverage for run in runs}
    results |= run_baselines(data, asked, ks, count_tokens)
    print(
        f"LoCoMo dev, split {args.split}: {', '.join(c.sample_id for c in data)}; "
        f"{len(every)} questions ({skipped} without valid evidence skipped); "
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}\n"
    )
    print(table(every, results, ks))
    for run in runs:
        print(f"\n### {run.label}")
        print(
            f"\nnested contexts (top {ks[0]} within ... within top {ks[-1]}): "
            f"{run.nested}/{len(every)}; strategies used: {dict(run.strategies)}; "
            f"RecallContext calls per question: "
            f"{sum(len(lat.client) for lat in run.context.values()) / len(every):.1f}\n"
        )
        print(latency_table(run, ks))
        print("\nContext size in word pieces, by section:\n")
        print(size_table(run, ks))
    plot(every, results, ks, args.plot)
    progress(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
