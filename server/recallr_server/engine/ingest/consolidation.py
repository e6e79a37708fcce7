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

from recallr_server.engine.ingest.extraction.vocabulary import ANIMALS, RELATION_NOUNS
from recallr_server.engine.ingest.slots import LIFELONG, slot_of_attribute
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
    event_end: datetime | None = None
    # Planned earlier in the same run rather than stored by an earlier session.
    planned: bool = False
    categories: tuple[str, ...] = ()
    # The memory says a state ended ("left Bean Scene"): the slot's next value replaces it.
    ended_state: bool = False


@dataclass(frozen=True)
class Candidate:
    """A new fact, embedded."""

    content: str
    embedding: Vector
    event_start: datetime
    subject_key: str | None
    attribute_key: str | None
    attribute_value: str | None
    # What the fact ends ("marco", "smoking") and the thing it says more about ("bike").
    ends: tuple[str, ...] = field(default=(), kw_only=True)
    topic: str | None = field(default=None, kw_only=True)


@dataclass
class Outcome:
    decision: Decision
    # The memory the fact updates, duplicates or contradicts.
    target: Existing | None = None
    # Chains of related memories to connect the new memory to.
    related_chains: list[str] = field(default_factory=list)
    reason: str = ""
    # Other memories the fact ends besides its target ("we've been together four years"
    # ends with the break-up that supersedes "Giulia's boyfriend Marco").
    ended: list[Existing] = field(default_factory=list)


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


def _same_slot(fact: Candidate, memory: Existing) -> bool:
    slot = slot_of_attribute(fact.attribute_key)
    return (
        slot is not None
        and slot == slot_of_attribute(memory.attribute_key)
        and (fact.subject_key or "user") == (memory.subject_key or "user")
    )


def _same_value(fact: Candidate, memory: Existing) -> bool:
    """Both say the same value of the slot: equal values, the one value known in the other's
    words, or, when the fact's value is unknown (its slot was placed by meaning), a name of
    the memory's in it ("engaged to Sam" and "Sam and I have been together for years" are
    about the same partner); the name both open with is their subject, not a value."""
    if fact.attribute_value is not None and memory.attribute_value is not None:
        return fact.attribute_value.lower() == memory.attribute_value.lower()
    if fact.attribute_value is not None:
        return _mentions(memory.content, fact.attribute_value)
    if memory.attribute_value is not None and _mentions(fact.content, memory.attribute_value):
        return True
    shared = _names(fact.content) & _names(memory.content)
    return bool(shared - (_first(fact.content) & _first(memory.content)))


# A capitalised word is a name, unless it is a month, a weekday or an article.
_NAME = re.compile(r"(?<![\w'])[A-Z][\w'-]+")
_NOT_NAMES = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september"}
    | {"october", "november", "december", "monday", "tuesday", "wednesday", "thursday"}
    | {"friday", "saturday", "sunday", "the", "a", "an"}
)


def _names(content: str) -> set[str]:
    return {name.lower().removesuffix("'s") for name in _NAME.findall(content)} - _NOT_NAMES


def _first(content: str) -> set[str]:
    """The memory's subject, mostly: a name every memory of its person starts with, which
    says nothing about the value of a slot."""
    return _names(content.split(maxsplit=1)[0]) if content.strip() else set()


def _slotted(
    fact: Candidate,
    memories: Sequence[Existing],
    similarities: NDArray[np.float32],
    conflicts_enabled: bool,
) -> Outcome | None:
    """A fact in a slot the nearest memory of which holds another value replaces it; one
    with the same value (or said alike, when a value is unknown) is the same fact."""
    same = [int(i) for i in np.argsort(-similarities) if _same_slot(fact, memories[int(i)])]
    if not same:
        return None
    memory, similarity = memories[same[0]], float(similarities[same[0]])
    if _same_value(fact, memory):
        return Outcome(Decision.DUPLICATE, memory) if fact.attribute_value else None
    unknown = fact.attribute_value is None or memory.attribute_value is None
    alike = similarity >= DUPLICATE_SIMILARITY or _words(fact.content) == _words(memory.content)
    if unknown and alike:
        return Outcome(Decision.DUPLICATE, memory)
    slot = slot_of_attribute(fact.attribute_key)
    if unknown and memory.planned and not memory.ended_state:
        # Said in the same session, two facts of a slot placed by meaning tell one story
        # ("I started eating fish again in March, so I'm pescatarian now").
        return Outcome(Decision.ADDITION, memory, reason=f"more about the {slot}")
    return _changed(fact, memory, conflicts_enabled, f"{slot} changed")


def _explained_by_time(fact: Candidate, memory: Existing) -> bool:
    """A later statement of a changed value is a change over time, not a contradiction."""
    if slot_of_attribute(fact.attribute_key) in LIFELONG:
        return False
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

    # An end names what it ends, and ends every memory that says it still holds ("Leila
    # and I broke up" ends "girlfriend Leila" and "together three years"): the names tell
    # more than the slot.
    ending = _ending(fact, memories, similarities)
    if ending is not None:
        return ending
    slotted = _slotted(fact, memories, similarities, conflicts_enabled)
    if slotted is not None:
        return slotted
    described = _described(fact, memories, similarities)
    if described is not None:
        return described

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


def _mentions(content: str, term: str) -> bool:
    """`term` in `content` as whole words, a word's inflections included ("smoking" and
    "smokes")."""
    words = [_stem(word) for word in _WORD.findall(term.lower())]
    pattern = r"\b" + r"\W+".join(re.escape(word) + r"\w*" for word in words) + r"\b"
    return bool(words) and re.search(pattern, content.lower()) is not None


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _about_user(memory: Existing) -> bool:
    return not re.match(r"the assistant\b|\w+ (told|recommended)\b", memory.content.lower())


# Words that state what a break-up ends, besides the partner's name.
_TOGETHER = re.compile(
    r"\b(boyfriend|girlfriend|partner|together|dating|fianc\w*|engaged)\b", re.IGNORECASE
)
# Words that introduce who or what a name belongs to: "boyfriend Marco", "a cat named Miso".
_INTRODUCERS = RELATION_NOUNS | ANIMALS | {"named", "called"}


def _introduces(memory: Existing, terms: Sequence[str]) -> bool:
    text = memory.content.lower()
    for term in terms:
        before = text[: text.find(term)].split() if term in text else []
        if before and before[-1] in _INTRODUCERS:
            return True
    return False


def _likeliest(
    touched: list[int], memories: Sequence[Existing], terms: Sequence[str], similarities: Vector
) -> Existing:
    """Of the memories that mention `terms`, the one that introduced them (or holds an
    attribute), else the most similar."""

    def rank(i: int) -> tuple[bool, float]:
        memory = memories[i]
        return _introduces(memory, terms) or bool(memory.attribute_key), float(similarities[i])

    return memories[max(touched, key=rank)]


def _ending(fact: Candidate, memories: Sequence[Existing], similarities: Vector) -> Outcome | None:
    """A fact that ends a state (a break-up, a death, quitting) supersedes the memory that
    states it, and ends the other memories that say the same state holds."""
    if not fact.ends:
        return None
    touched = [
        i
        for i, memory in enumerate(memories)
        if _about_user(memory) and any(_mentions(memory.content, term) for term in fact.ends)
    ]
    if not touched:
        return None

    target = _likeliest(touched, memories, fact.ends, similarities)
    ended = [
        memories[i]
        for i in touched
        if memories[i] is not target and _TOGETHER.search(memories[i].content)
    ]
    reason = f"{', '.join(fact.ends)} ended"
    return Outcome(Decision.TEMPORAL_UPDATE, target, reason=reason, ended=ended)


def _described(
    fact: Candidate, memories: Sequence[Existing], similarities: Vector
) -> Outcome | None:
    """More about a thing an earlier memory introduced ("the bike is a green Brompton")
    is a new version of that memory."""
    if fact.topic is None:
        return None
    touched = [
        i
        for i, memory in enumerate(memories)
        if not memory.planned and _about_user(memory) and _mentions(memory.content, fact.topic)
    ]
    if not touched:
        return None
    target = _likeliest(touched, memories, [fact.topic], similarities)
    return Outcome(Decision.ADDITION, target, reason=f"more about {fact.topic}")


_REPORTED = re.compile(r"^[A-Z][\w' ]*? said that ")


def merged_content(new: str, old: str) -> str:
    """The content of a new version that adds `new` to `old`, keeping what `old` said."""
    if _adds_detail(new, old):
        return new
    addition = _REPORTED.sub("", new, count=1)
    return f"{old.rstrip('.')}. {addition[:1].upper()}{addition[1:]}"


def _changed(fact: Candidate, memory: Existing, conflicts_enabled: bool, why: str) -> Outcome:
    if conflicts_enabled and not _explained_by_time(fact, memory):
        return Outcome(Decision.CONFLICT, memory, reason=why)
    return Outcome(Decision.TEMPORAL_UPDATE, memory, reason=why)
