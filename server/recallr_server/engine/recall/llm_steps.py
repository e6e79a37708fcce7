"""Recall's search plan and review made by a chat model, for when one is configured.

The model's answers are treated as untrusted: a reply that does not fit the schema never
reaches the caller (see `OpenAICompatibleChat`), and a search plan or review that breaks a
bound or names an impossible date is refused as a whole (`InvalidOutput`), so that recall
goes on without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.provider.llm import ChatModel, InvalidOutput, JsonObject, Prompt
from recallr_server.engine.provider.prompting import (
    TEXT,
    json_object,
    require_aware,
    transcript,
    utc_moment,
)
from recallr_server.engine.temporal import day_span

RECALL_PLAN = Prompt.load("recall_plan.v1")
RECALL_REVIEW = Prompt.load("recall_review.v1")

# Bounds of a search plan or review; a reply beyond any of them is refused as a whole.
MAX_SEARCH_QUERIES = 4
MAX_FOLLOW_UP_QUERIES = 3
MAX_KEYWORDS = 12
MAX_DATE_RANGES = 4
MAX_QUERY_CHARS = 300
MAX_KEYWORD_CHARS = 60
# Each message of the conversation is cut to this many characters for the model.
MAX_RECALL_MESSAGE_CHARS = 2_000

_DATE: JsonObject = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_DATE_RANGES: JsonObject = {"type": "array", "items": json_object(start=_DATE, end=_DATE)}
_TEXTS: JsonObject = {"type": "array", "items": TEXT}

SEARCH_PLAN_SCHEMA = json_object(
    queries=_TEXTS, keywords=_TEXTS, date_ranges=_DATE_RANGES, latest={"type": "boolean"}
)

DateRange = tuple[datetime, datetime]


@dataclass(frozen=True)
class SearchPlan:
    """What to look for: standalone queries, keywords, dates, and whether the latest state."""

    queries: list[str]
    keywords: list[str]
    # Half-open UTC spans [start, end) of the model's inclusive days.
    date_ranges: list[DateRange]
    latest: bool


@dataclass(frozen=True)
class SearchReview:
    """The model's verdict on what the search found so far."""

    # Numbers (from 1) of the items shown, the most useful first; empty keeps them all.
    relevant: list[int]
    # What to search for next; empty ends the search.
    queries: list[str]
    date_ranges: list[DateRange]


def plan_search_llm(chat: ChatModel, messages: Sequence[ChatMessage], now: datetime) -> SearchPlan:
    """The search for the conversation's last message, `messages` oldest first.

    `now` is the session's time, against which relative dates resolve. Raises `LLMError`
    when the model gives no schema-valid answer, `InvalidOutput` when its answer breaks a
    bound or names an impossible date.
    """
    require_aware(now)
    reply = chat.complete_json(
        RECALL_PLAN,
        {"now": utc_moment(now), "messages": _recall_transcript(messages)},
        SEARCH_PLAN_SCHEMA,
    )
    return read_search_plan(reply)


def read_search_plan(reply: JsonObject) -> SearchPlan:
    """The plan in a schema-valid reply, or `InvalidOutput`."""
    queries = _texts(reply["queries"], "queries", MAX_SEARCH_QUERIES, MAX_QUERY_CHARS)
    if not queries:
        raise InvalidOutput("queries: at least one query is needed")
    return SearchPlan(
        queries,
        _texts(reply["keywords"], "keywords", MAX_KEYWORDS, MAX_KEYWORD_CHARS),
        _date_ranges(reply["date_ranges"]),
        bool(reply["latest"]),
    )


def review_schema(shown: int) -> JsonObject:
    """The review's schema when `shown` items are listed: `relevant` names only those."""
    number: JsonObject = {"type": "integer"}
    if shown:
        number = {"type": "integer", "enum": list(range(1, shown + 1))}
    return json_object(
        relevant={"type": "array", "items": number}, queries=_TEXTS, date_ranges=_DATE_RANGES
    )


def review_search_llm(
    chat: ChatModel,
    messages: Sequence[ChatMessage],
    now: datetime,
    *,
    searched: Sequence[str],
    found: Sequence[str],
    searches_left: int,
) -> SearchReview:
    """Whether what was found answers the last message, and what to search for if not.

    `found` are one-line descriptions of the items found, best first; the model refers to
    them by number. Raises as `plan_search_llm`.
    """
    require_aware(now)
    reply = chat.complete_json(
        RECALL_REVIEW,
        {
            "now": utc_moment(now),
            "messages": _recall_transcript(messages),
            "searched": "\n".join(f"- {query}" for query in searched) or "(nothing)",
            "found": "\n".join(f"{number}. {item}" for number, item in enumerate(found, 1))
            or "(nothing)",
            "searches_left": (
                f"Searches left: {searches_left}."
                if searches_left > 0
                else "No searches are left: give no queries, only the relevant items."
            ),
        },
        review_schema(len(found)),
    )
    return read_search_review(reply, len(found))


def read_search_review(reply: JsonObject, shown: int) -> SearchReview:
    """The review in a schema-valid reply about `shown` items, or `InvalidOutput`."""
    for number in reply["relevant"]:
        if not 1 <= number <= shown:
            raise InvalidOutput(f"relevant: {number} is not the number of an item shown")
    return SearchReview(
        list(dict.fromkeys(reply["relevant"])),
        _texts(reply["queries"], "queries", MAX_FOLLOW_UP_QUERIES, MAX_QUERY_CHARS),
        _date_ranges(reply["date_ranges"]),
    )


def _texts(values: Sequence[str], name: str, most: int, longest: int) -> list[str]:
    """Stripped and without repeats (ignoring case); `InvalidOutput` beyond the bounds."""
    if len(values) > most:
        raise InvalidOutput(f"{name}: {len(values)} given, at most {most} allowed")
    texts = [" ".join(value.split()) for value in values]
    if any(len(text) > longest for text in texts):
        raise InvalidOutput(f"{name}: one is longer than {longest} characters")
    return unique_texts(texts)


def unique_texts(texts: Iterable[str]) -> list[str]:
    """`texts` without repeats, ignoring case; the first spelling kept."""
    kept: dict[str, str] = {}
    for text in texts:
        kept.setdefault(text.casefold(), text)
    return list(kept.values())


def _date_ranges(items: Sequence[JsonObject]) -> list[DateRange]:
    """Half-open UTC spans of inclusive days; `InvalidOutput` for a bad date or order."""
    if len(items) > MAX_DATE_RANGES:
        raise InvalidOutput(f"date_ranges: {len(items)} given, at most {MAX_DATE_RANGES} allowed")
    ranges = []
    for position, item in enumerate(items):
        try:
            first, last = date.fromisoformat(item["start"]), date.fromisoformat(item["end"])
            span = day_span(first, last)
        except ValueError:
            raise InvalidOutput(
                f"date_ranges[{position}]: {item['start']!r} to {item['end']!r} is not a "
                "range of real dates"
            ) from None
        if first > last:
            raise InvalidOutput(f"date_ranges[{position}]: the start is after the end")
        ranges.append(span)
    return ranges


def _recall_transcript(messages: Sequence[ChatMessage]) -> str:
    return transcript(
        [ChatMessage(m.message_id, m.role, m.content[:MAX_RECALL_MESSAGE_CHARS]) for m in messages]
    )
