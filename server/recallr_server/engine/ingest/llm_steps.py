"""Processing's judgements made by a chat model, for when one is configured.

Each function is the model-backed twin of a local step and returns the same types, so the
processing job can use either. The model's answers are treated as untrusted: ids and
category names it invents are dropped, dates it gets wrong drop their fact, and a reply
that does not fit the schema never reaches the caller (see `OpenAICompatibleChat`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TypedDict

from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.ingest.consolidation import Candidate, Decision, Existing, Outcome
from recallr_server.engine.ingest.extraction import Fact, canonical_attribute_key
from recallr_server.engine.provider.llm import ChatModel, JsonObject, LLMError, Prompt
from recallr_server.engine.provider.prompting import (
    TEXT,
    json_object,
    require_aware,
    transcript,
    utc_moment,
)
from recallr_server.engine.temporal import day_of, day_span

log = logging.getLogger("recallr.llm")

EXTRACT_FACTS = Prompt.load("extract_facts.v1")
CONSOLIDATE = Prompt.load("consolidate.v1")
CLARIFY = Prompt.load("clarify.v1")
SUMMARISE = Prompt.load("summarise.v1")
SUMMARISE_CONTINUED = Prompt.load("summarise_continued.v1")


class ClarifyingQuestion(TypedDict):
    question: str
    options: list[str]


# Constrained decoders honour `pattern`, and the validator checks it for the others.
_DAY: JsonObject = {"type": ["string", "null"], "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_KEY: JsonObject = {"type": ["string", "null"]}
_STRINGS: JsonObject = {"type": "array", "items": {"type": "string"}}


FACTS_SCHEMA = json_object(
    facts={
        "type": "array",
        "items": json_object(
            content=TEXT,
            categories=_STRINGS,
            source_message_ids=_STRINGS,
            event_start=_DAY,
            event_end=_DAY,
            subject=_KEY,
            attribute=_KEY,
            value=_KEY,
        ),
    }
)
SUMMARY_SCHEMA = json_object(summary=TEXT)
QUESTION_SCHEMA = json_object(question=TEXT)

_JUDGEMENTS = {
    "new": Decision.NEW,
    "duplicate": Decision.DUPLICATE,
    "addition": Decision.ADDITION,
    "temporal_update": Decision.TEMPORAL_UPDATE,
    "contradiction": Decision.CONFLICT,
}


# --- Extraction -----------------------------------------------------------------------------


def extract_facts_llm(
    chat: ChatModel,
    messages: Sequence[ChatMessage],
    *,
    now: datetime,
    categories: Mapping[str, str],
    user_name: str | None = None,
    other_name: str | None = None,
    context: int = 0,
) -> list[Fact]:
    """The facts the conversation states, as `extraction.extract_facts` returns them.

    `now` is the session's time (timezone-aware), against which relative dates resolve;
    a fact without a date of its own is dated to that day. `categories` (name to
    description) is the only vocabulary assigned. `user_name` names the user in the
    wording; `other_name` makes the assistant a person of that name whose own statements
    are facts too. A fact citing none of the given messages is dropped; when every fact
    the model gave is dropped, its answer is unusable and `LLMError` is raised.

    The first `context` messages close the part of a long conversation read before this
    one: the model reads them, but a fact citing only them was extracted with that part.
    """
    require_aware(now)
    aliases = {f"m{index}": message.message_id for index, message in enumerate(messages, 1)}
    read_before = {message.message_id for message in messages[:context]}
    reply = chat.complete_json(
        EXTRACT_FACTS,
        {
            "now": utc_moment(now),
            "speakers": _speakers(user_name, other_name),
            "categories": "\n".join(
                f"- {name}: {description}" if description else f"- {name}"
                for name, description in categories.items()
            ),
            "messages": transcript(messages, user_name, other_name),
        },
        FACTS_SCHEMA,
    )
    read = [_fact(item, aliases, now, categories) for item in reply["facts"]]
    facts = [fact for fact in read if fact is not None]
    new = [fact for fact in facts if not read_before.issuperset(fact.source_message_ids)]
    if read and not facts:
        # A conversation may state nothing lasting, but a model whose every fact is
        # unusable has not read this one: saying "no memories" would hide that.
        raise LLMError(
            f"{EXTRACT_FACTS.name}.v{EXTRACT_FACTS.version}: all {len(read)} "
            "facts cited no message of the session or had an unreadable date"
        )
    return new


def _fact(
    item: JsonObject, aliases: Mapping[str, str], now: datetime, categories: Mapping[str, str]
) -> Fact | None:
    content = item["content"].strip()
    sources = list(dict.fromkeys(aliases[i] for i in item["source_message_ids"] if i in aliases))
    if not sources:
        # Never the fact itself: it is message content, which no log may carry.
        log.info("dropped a fact citing no message of the session")
        return None
    try:
        start, end = _event_span(item["event_start"], item["event_end"], now)
    except ValueError:
        log.info("dropped a fact with an unreadable date")
        return None
    attribute, value = item["attribute"], item["value"]
    single_valued = bool(attribute) and bool(value)
    return Fact(
        content=content,
        categories=sorted({name for name in item["categories"] if name in categories}),
        source_message_ids=sources,
        event_start=start,
        event_end=end,
        subject_key=item["subject"] or None,
        attribute_key=canonical_attribute_key(attribute) if single_valued else None,
        value=value if single_valued else None,
    )


def _event_span(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """Half-open UTC day span from the model's inclusive days; the session's day if none."""
    if start is None and end is None:
        return day_of(now)
    first = date.fromisoformat(start or end or "")
    last = max(date.fromisoformat(end or start or ""), first)
    return day_span(first, last)


def _speakers(user_name: str | None, other_name: str | None) -> str:
    user = (
        f'The user is {user_name}; write "{user_name}" for them in facts.'
        if user_name
        else 'Write "the user" for the user.'
    )
    if other_name:
        return (
            f"{user} The other speaker is a person, {other_name}, not an AI: keep what "
            f'{other_name} says about themself too, with subject "{other_name}".'
        )
    return f"{user} The assistant is an AI assistant."


# --- Consolidation --------------------------------------------------------------------------


def judge_llm(
    chat: ChatModel,
    fact: Candidate,
    candidates: Sequence[Existing],
    *,
    conflicts_enabled: bool,
) -> Outcome:
    """How `fact` changes the memories in `candidates`, as `consolidation.decide` answers.

    For the cases the similarity rules cannot settle. `candidates` come most similar first;
    a decision that needs a memory but names none applies to the first. A contradiction
    becomes a merge conflict when `conflicts_enabled`, else the newer fact wins.
    """
    if not candidates:
        return Outcome(Decision.NEW)
    numbers = list(range(1, len(candidates) + 1))
    reply = chat.complete_json(
        CONSOLIDATE,
        {
            "fact": fact.content,
            "fact_date": _day(fact.event_start),
            "memories": "\n".join(
                f"{number}. {memory.content} (dated {_day(memory.event_start)})"
                for number, memory in zip(numbers, candidates, strict=True)
            ),
        },
        json_object(
            decision={"type": "string", "enum": list(_JUDGEMENTS)},
            memory={"type": ["integer", "null"], "enum": [*numbers, None]},
            related={"type": "array", "items": {"type": "integer", "enum": numbers}},
            reason=TEXT,
        ),
    )
    decision = _JUDGEMENTS[reply["decision"]]
    reason: str = reply["reason"]
    if decision is Decision.NEW:
        related = dict.fromkeys(candidates[number - 1].chain_id for number in reply["related"])
        return Outcome(Decision.NEW, related_chains=list(related), reason=reason)
    if decision is Decision.CONFLICT and not conflicts_enabled:
        decision = Decision.TEMPORAL_UPDATE
    target = candidates[(reply["memory"] or 1) - 1]
    return Outcome(decision, target, reason=reason)


def _day(moment: datetime | None) -> str:
    return "unknown" if moment is None else moment.astimezone(UTC).date().isoformat()


# --- Merge conflicts ------------------------------------------------------------------------


def clarifying_questions_llm(
    chat: ChatModel,
    new_content: str,
    conflicting: Sequence[str],
    *,
    options: Sequence[str],
) -> list[ClarifyingQuestion]:
    """The question that settles a merge conflict, worded for this conflict.

    `conflicting` holds the contents of the memories the new fact contradicts. The answers
    are `options` as given (the resolutions the conflict job understands); the model only
    words the question.
    """
    reply = chat.complete_json(
        CLARIFY,
        {
            "new": new_content,
            "existing": "\n".join(f"- {content}" for content in conflicting),
            "options": "\n".join(f"- {option}" for option in options),
        },
        QUESTION_SCHEMA,
    )
    question: str = reply["question"].strip()
    return [ClarifyingQuestion(question=question, options=list(options))]


# --- Summaries --------------------------------------------------------------------------------


def summarise_llm(
    chat: ChatModel, messages: Sequence[ChatMessage], now: datetime, earlier: str | None = None
) -> str:
    """A short third-person summary of the session that begins with its date.

    A long session is summarised a part at a time: `earlier` is the summary of the parts
    before `messages`, which the new summary carries on.
    """
    require_aware(now)
    variables = {"now": utc_moment(now), "messages": transcript(messages)}
    if earlier is None:
        reply = chat.complete_json(SUMMARISE, variables, SUMMARY_SCHEMA)
    else:
        variables["summary"] = earlier
        reply = chat.complete_json(SUMMARISE_CONTINUED, variables, SUMMARY_SCHEMA)
    summary: str = reply["summary"].strip()
    return summary
