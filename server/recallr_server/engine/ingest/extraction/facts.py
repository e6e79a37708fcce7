"""The facts a conversation states: each message's clauses drafted, joined where they lean
on each other, and finished with their dates and categories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.ingest.extraction.categories import custom_categories
from recallr_server.engine.ingest.extraction.cleanup import clean
from recallr_server.engine.ingest.extraction.dates import dated
from recallr_server.engine.ingest.extraction.discourse import Discourse, KnownEntity
from recallr_server.engine.ingest.extraction.drafts import Draft
from recallr_server.engine.ingest.extraction.kinds import Kind
from recallr_server.engine.ingest.extraction.parties import Cast, cast_turns
from recallr_server.engine.ingest.extraction.pipeline import nlp
from recallr_server.engine.ingest.extraction.reader import Reader
from recallr_server.engine.ingest.extraction.wording import sentence_case
from recallr_server.engine.temporal import TimeMention, day_of, make_absolute


@dataclass(frozen=True, slots=True)
class Fact:
    """A candidate memory: one standalone sentence and what consolidation needs to place it.

    `subject_key` names who the fact is about ("user", a speaker's name, or a relation such
    as "user's sister"). `attribute_key` and `value` are set for single-valued attributes
    that change over time ("residence", "employer", "favourite:color", ...), so that a new
    value can be recognised as replacing an old one; keys are canonical whatever the
    spelling ("favourite colour" and "fav color" both give "favourite:color").
    """

    content: str
    categories: list[str]
    source_message_ids: list[str]
    event_start: datetime
    event_end: datetime
    subject_key: str | None
    attribute_key: str | None
    value: str | None
    # What the fact ends ("marco", "smoking") and the thing it says more about ("bike").
    ends: tuple[str, ...] = ()
    topic: str | None = None
    # The fact about "the user" with names made generic and dates left out, for placing
    # it in a slot by meaning.
    gist: str | None = None


def extract_facts(
    messages: Sequence[ChatMessage],
    *,
    now: datetime,
    user_name: str | None = None,
    assistant_name: str | None = None,
    categories: Mapping[str, str],
    known: Sequence[KnownEntity] = (),
    context: int = 0,
    cast: Cast | None = None,
) -> list[Fact]:
    """The facts the conversation states about its speakers, in the order they were said.

    `now` is the session's time (timezone-aware): relative dates resolve against it and a
    fact without a date of its own is dated to that day. `user_name` replaces "the user"
    in the wording; `assistant_name`, when given, makes the assistant a person whose own
    statements are facts about them. Only category names present in `categories` are
    assigned. The result depends on the inputs alone.

    A long conversation is read in parts. Each part after the first opens with the last
    `context` messages of the part before, read again so that what they ask and mention
    still informs the part, but already extracted: their own facts are left out. `cast`,
    when given, is the speakers as the parts before left them (it replaces `user_name` and
    `assistant_name`, and learns this part's labels).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    turns, names = cast_turns(messages, cast or Cast.named(user_name, assistant_name))
    cleaned = [clean(turn.text) for turn in turns]
    docs = list(nlp().pipe([c.text for c in cleaned], batch_size=64, disable=["ner"]))
    facts: list[Fact] = []
    seen: dict[str, Fact] = {}
    anchors: dict[str, datetime] = {}
    # What a message's topic label names ("Piano update: ..."): its facts say more about it.
    labelled = {
        turn.message_id: c.topics[0] for turn, c in zip(turns, cleaned, strict=True) if c.topics
    }
    read_before = {message.message_id for message in messages[:context]}
    for draft in Reader(names, Discourse(names, known), now).read(turns, docs):
        if draft.message_id in read_before:
            continue
        label = labelled.pop(draft.message_id, None)  # the label heads the first fact only
        if draft.topic is None and label is not None:
            draft.topic = label
        fact = _finish(draft, now, categories, anchors.get(draft.message_id))
        if fact.event_start != _day_start(now):
            anchors[draft.message_id] = fact.event_start
        earlier = seen.get(fact.content)
        if earlier is not None:
            if draft.message_id not in earlier.source_message_ids:
                earlier.source_message_ids.append(draft.message_id)
            continue
        fact.source_message_ids.append(draft.message_id)
        seen[fact.content] = fact
        facts.append(fact)
    return facts


def _day_start(now: datetime) -> datetime:
    return day_of(now)[0]


def _finish(
    draft: Draft, now: datetime, categories: Mapping[str, str], anchor: datetime | None
) -> Fact:
    mentions = dated(draft.text, now, draft.tense, anchor)
    content = sentence_case(make_absolute(draft.text, mentions))
    if mentions:
        start, end = mentions[0].start, mentions[0].end
    else:
        start, end = day_of(now)
    names = set(draft.categories)
    if mentions and start > now:
        names.add("plans")
    elif mentions and draft.kind is not Kind.RECOMMENDATION:
        names.add("events")
    names |= custom_categories(content, categories)
    attribute_key, value = draft.attribute if draft.attribute else (None, None)
    return Fact(
        content=content,
        categories=sorted(name for name in names if name in categories),
        source_message_ids=[],
        event_start=start,
        event_end=end,
        subject_key=draft.subject_key,
        attribute_key=attribute_key,
        value=value,
        ends=draft.ends,
        topic=draft.topic,
        gist=_without_dates(draft.gist, mentions),
    )


def _without_dates(gist: str | None, mentions: Sequence[TimeMention]) -> str | None:
    if gist is None:
        return None
    for mention in mentions:
        gist = gist.replace(mention.text, "")
    return sentence_case(" ".join(gist.split()))
