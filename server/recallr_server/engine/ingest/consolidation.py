"""Consolidation: how each new fact changes a user's memories.

A pure function of the new facts and the current memories, so a processing
run can be planned outside any transaction and replayed after a crash with
the same result.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from recallr_server.engine.vectors import Vector

# Cosine similarities of all-MiniLM-L6-v2 sentence embeddings.
DUPLICATE_SIMILARITY = 0.92
ADDITION_SIMILARITY = 0.65
CONTRADICTION_SIMILARITY = 0.80
RELATED_SIMILARITY = 0.50

_NEGATION = re.compile(r"\b(not|no longer|never|n't|no)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")


class Decision(enum.StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    ADDITION = "addition"
    TEMPORAL_UPDATE = "temporal_update"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Existing:
    """A current memory version, as consolidation sees it."""

    memory_id: str
    chain_id: str
    content: str
    embedding: Vector
    event_start: datetime | None
    subject_key: str | None
    attribute_key: str | None
    attribute_value: str | None


@dataclass(frozen=True)
class Candidate:
    """A new fact, embedded."""

    content: str
    embedding: Vector
    event_start: datetime
    subject_key: str | None
    attribute_key: str | None
    attribute_value: str | None


@dataclass
class Outcome:
    decision: Decision
    # The memory the fact updates, duplicates or contradicts.
    target: Existing | None = None
    # Chains of related memories to connect the new memory to.
    related_chains: list[str] = field(default_factory=list)
    reason: str = ""


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def _adds_detail(new: str, old: str) -> bool:
    """The new sentence keeps (nearly) everything the old one says and says more."""
    new_words, old_words = _words(new), _words(old)
    if not old_words or len(new_words) <= len(old_words):
        return False
    return len(old_words & new_words) / len(old_words) >= 0.8


def _same_attribute(fact: Candidate, memory: Existing) -> bool:
    return (
        fact.attribute_key is not None
        and fact.attribute_key == memory.attribute_key
        and (fact.subject_key or "user") == (memory.subject_key or "user")
    )


def _explained_by_time(fact: Candidate, memory: Existing) -> bool:
    """A later statement of a changed value is a change over time, not a contradiction."""
    return memory.event_start is not None and fact.event_start.date() > memory.event_start.date()


def similar_first(similarities: NDArray[np.float32], limit: int) -> list[int]:
    """Indices of the most similar memories above RELATED_SIMILARITY, best first."""
    order = np.argsort(-similarities)[:limit]
    return [int(i) for i in order if similarities[i] >= RELATED_SIMILARITY]


def decide(
    fact: Candidate,
    memories: Sequence[Existing],
    similarities: NDArray[np.float32],
    *,
    conflicts_enabled: bool,
) -> Outcome:
    """`similarities[i]` is the cosine similarity of the fact and `memories[i]`."""
    if not memories:
        return Outcome(Decision.NEW)
    order = np.argsort(-similarities)
    best, best_similarity = memories[int(order[0])], float(similarities[order[0]])

    for memory in memories:
        if not _same_attribute(fact, memory):
            continue
        if (fact.attribute_value or "").lower() == (memory.attribute_value or "").lower():
            return Outcome(Decision.DUPLICATE, memory)
        return _changed(fact, memory, conflicts_enabled, f"{fact.attribute_key} changed")

    if best_similarity >= CONTRADICTION_SIMILARITY and _negated(fact.content) != _negated(
        best.content
    ):
        return _changed(fact, best, conflicts_enabled, "one statement negates the other")
    if best_similarity >= DUPLICATE_SIMILARITY or _words(fact.content) == _words(best.content):
        return Outcome(Decision.DUPLICATE, best)
    if best_similarity >= ADDITION_SIMILARITY and _adds_detail(fact.content, best.content):
        return Outcome(Decision.ADDITION, best)
    related = [memories[i].chain_id for i in similar_first(similarities, 3)]
    return Outcome(Decision.NEW, related_chains=related)


def _changed(fact: Candidate, memory: Existing, conflicts_enabled: bool, why: str) -> Outcome:
    if conflicts_enabled and not _explained_by_time(fact, memory):
        return Outcome(Decision.CONFLICT, memory, reason=why)
    return Outcome(Decision.TEMPORAL_UPDATE, memory, reason=why)
