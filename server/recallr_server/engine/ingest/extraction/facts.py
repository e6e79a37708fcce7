"""The facts a conversation states: each message's clauses drafted, joined where they lean
on each other, and finished with their dates and categories.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.ingest.extraction.categories import custom_categories
from recallr_server.engine.ingest.extraction.clauses import Clause, clauses_of, has_subject, joined
from recallr_server.engine.ingest.extraction.content import addresses_listener, content_words
from recallr_server.engine.ingest.extraction.drafts import Draft, draft_of
from recallr_server.engine.ingest.extraction.kinds import Kind
from recallr_server.engine.ingest.extraction.parties import USER_KEY, NameIndex, Party
from recallr_server.engine.ingest.extraction.pipeline import nlp
from recallr_server.engine.ingest.extraction.wording import sentence_case
from recallr_server.engine.temporal import day_of, make_absolute, resolve_time_expressions

if TYPE_CHECKING:
    from spacy.tokens import Span


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


def extract_facts(
    messages: Sequence[ChatMessage],
    *,
    now: datetime,
    user_name: str | None = None,
    assistant_name: str | None = None,
    categories: Mapping[str, str],
) -> list[Fact]:
    """The facts the conversation states about its speakers, in the order they were said.

    `now` is the session's time (timezone-aware): relative dates resolve against it and a
    fact without a date of its own is dated to that day. `user_name` replaces "the user"
    in the wording; `assistant_name`, when given, makes the assistant a person whose own
    statements are facts about them. Only category names present in `categories` are
    assigned. The result depends on the inputs alone.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    user = Party(label=user_name or "the user", key=USER_KEY, is_person=True)
    assistant = (
        Party(label=assistant_name, key=assistant_name, is_person=True)
        if assistant_name
        else Party(label="the assistant", key=None, is_person=False)
    )
    names = NameIndex(user, assistant)
    texts = [_normalise(message.content) for message in messages]
    facts: list[Fact] = []
    seen: dict[str, Fact] = {}
    docs = nlp().pipe(texts, batch_size=64, disable=["ner"])  # see entity_label
    for message, doc in zip(messages, docs, strict=True):
        speaker, listener = (user, assistant) if message.role == "user" else (assistant, user)
        for fact in _message_facts(doc.sents, speaker, listener, names, now, categories):
            earlier = seen.get(fact.content)
            if earlier is not None:
                if message.message_id not in earlier.source_message_ids:
                    earlier.source_message_ids.append(message.message_id)
                continue
            fact.source_message_ids.append(message.message_id)
            seen[fact.content] = fact
            facts.append(fact)
    return facts


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").strip()


def _message_facts(
    sentences: Iterable[Span],
    speaker: Party,
    listener: Party,
    names: NameIndex,
    now: datetime,
    categories: Mapping[str, str],
) -> list[Fact]:
    drafts: list[Draft] = []
    drafted = (
        pair
        for sentence in sentences
        if not sentence.text.rstrip().endswith("?")
        for pair in _sentence_drafts(sentence, speaker, listener, names)
    )
    for clause, draft in drafted:
        if draft is None:
            continue
        if draft.kind is Kind.CONTINUATION:
            # A sentence leaning on the one before ("it was so rewarding") still carries
            # content words, so it joins the fact it continues instead of standing alone;
            # a person's opening sentence of that kind is kept as what they said.
            if drafts and drafts[-1].attribute is None:
                drafts[-1].text = f"{drafts[-1].text}; {draft.text}"
                drafts[-1].categories |= draft.categories
            elif (
                speaker.is_person
                and (has_subject(clause.root) or clause.shared_subject is not None)
                and not addresses_listener(clause.tokens)
                and content_words(clause.tokens) >= 3
            ):
                draft.text = f"{speaker.label} said that {draft.text}"
                drafts.append(draft)
            continue
        drafts.append(draft)
    return [_finish(draft, now, categories) for draft in drafts]


def _sentence_drafts(
    sentence: Span, speaker: Party, listener: Party, names: NameIndex
) -> list[tuple[Clause, Draft | None]]:
    """Each clause of the sentence with its draft, None where it is not worth keeping.

    A coordinated clause that cannot stand alone stays with its neighbour, as it was said,
    when together they still make a fact: "... and they really liked it" with the clause
    before it, an opening "Losing my job was tough" with the clause after it unless that
    one sets an attribute, which must stay a fact of its own.
    """
    drafted: list[tuple[Clause, Draft | None]] = []
    for clause in clauses_of(sentence):
        draft = draft_of(clause, speaker, listener, names)
        if drafted:
            before, before_draft = drafted[-1]
            weak = draft is None or draft.kind is Kind.CONTINUATION
            opening_weak = before_draft is None and len(drafted) == 1
            if weak or (opening_weak and draft is not None and draft.attribute is None):
                whole = joined(before, clause)
                whole_draft = draft_of(whole, speaker, listener, names)
                if whole_draft is not None:
                    drafted[-1] = (whole, whole_draft)
                    continue
        drafted.append((clause, draft))
    return drafted


def _finish(draft: Draft, now: datetime, categories: Mapping[str, str]) -> Fact:
    mentions = resolve_time_expressions(draft.text, now)
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
    )
