"""One clause into a draft fact, or nothing when it is not worth keeping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.attributes import attribute_of
from recallr_server.engine.ingest.extraction.categories import clause_categories
from recallr_server.engine.ingest.extraction.changes import described_topic, ended_terms
from recallr_server.engine.ingest.extraction.clauses import Clause, has_subject
from recallr_server.engine.ingest.extraction.content import has_content, leans_on_context
from recallr_server.engine.ingest.extraction.dates import Tense, same_form_past, tense_of
from recallr_server.engine.ingest.extraction.discourse import (
    NO_REFERENCES,
    Entity,
    References,
    effective_texts,
)
from recallr_server.engine.ingest.extraction.kinds import Kind, classify
from recallr_server.engine.ingest.extraction.parties import NameIndex, Party
from recallr_server.engine.ingest.extraction.pipeline import entity_label
from recallr_server.engine.ingest.extraction.statements import read_statement
from recallr_server.engine.ingest.extraction.vocabulary import ANIMALS, RELATION_NOUNS
from recallr_server.engine.ingest.extraction.wording import (
    complete_fragment,
    recommendation,
    request,
    rewrite,
)

if TYPE_CHECKING:
    from spacy.tokens import Token

_DISCOURSE = frozenset(
    {"so", "well", "also", "anyway", "anyways", "btw", "oh", "yeah", "yes", "yep", "yup", "no"}
    | {"nope", "wow", "haha", "hahaha", "lol", "hey", "hi", "hello", "ok", "okay", "and", "but"}
    | {"plus", "honestly", "actually", "now", "sure", "totally", "aw", "aww", "omg", "ah", "hmm"}
    | {"um", "thanks", "thank", "cool", "great", "awesome", "nice", "ooh", "dude"}
)

# Sentences not about the speaker must say more to be worth keeping.
_REQUIRED_CONTENT_WORDS = {Kind.REPORTED: 2, Kind.TOLD: 3}


@dataclass(slots=True)
class Draft:
    kind: Kind
    text: str  # without the closing full stop, so that a continuation can be joined on
    subject_key: str | None
    attribute: tuple[str, str] | None
    categories: set[str]
    # Which way a date without a direction of its own points ("on Friday", "the 9th").
    tense: Tense = "future"
    message_id: str = ""
    # The tracked entity the fact is about, when it is not a speaker.
    about: Entity | None = None
    # The text with its subject pronoun kept, for joining the fact it leans on.
    leaning: str | None = None
    # The names of the states the fact ends, and of the thing it says more about.
    ends: tuple[str, ...] = ()
    topic: str | None = None
    # The fact about "the user" with names made generic, for placing it in a slot by
    # meaning; None when the fact is not about the speaker or their own.
    gist: str | None = None


def draft_of(
    clause: Clause,
    speaker: Party,
    listener: Party,
    names: NameIndex,
    refs: References = NO_REFERENCES,
) -> Draft | None:
    tokens = _strip_edges(clause.tokens, names)
    if not tokens or tokens[0].lower_ == "let":
        return None  # "let's ..." proposes, it does not state
    root = clause.root
    if root not in tokens:
        return None
    statement = read_statement(tokens)
    entity = _subject_entity(root, clause, refs)
    if statement is not None:
        classified: tuple[Kind, Token | None] | None = (statement.kind, statement.subject)
    elif entity is not None:
        classified = _entity_kind(entity[1], speaker), entity[0]
    else:
        classified = classify(root, tokens, speaker, listener, clause.shared_subject)
    if classified is None:
        return None
    kind, subject = classified
    if not speaker.is_person and kind in (Kind.SELF, Kind.RELATED, Kind.FRAGMENT):
        return None  # an AI assistant's statements about itself are not memories
    attribute = attribute_of(clause, tokens, kind, statement)
    if (
        attribute is None
        and statement is None  # a statement's object is content however it is tagged
        and kind is not Kind.CONTINUATION  # judged by leans_on_context instead
        and not has_content(tokens, _REQUIRED_CONTENT_WORDS.get(kind, 0))
    ):
        if entity is None or not leans_on_context(tokens):
            return None
        kind = Kind.CONTINUATION  # "It was really rewarding": only as part of the one before
    references = effective_texts(refs, tokens)
    agreeing = {statement.finite.i} if statement is not None and statement.finite else set()
    if same_form_past(root, tokens):
        references = {**references, root.i: root.text}  # "I quit on May 1st": no "quits"
    worded = _worded(kind, subject, root, tokens, speaker, listener, names, agreeing, references)
    if worded is None:
        return None
    text, subject_key = worded
    if entity is not None and kind in (Kind.RELATED, Kind.REPORTED) and entity[1].animate:
        subject_key = entity[1].key
    found = clause_categories(tokens, kind, attribute, statement)
    if kind is Kind.RECOMMENDATION and listener.is_assistant:
        kind, found = Kind.SELF, {"preferences"}  # how the user wants the assistant to work
    draft = Draft(kind, text, subject_key, attribute, found, tense_of(root, tokens))
    draft.ends = ended_terms(root)
    draft.topic = described_topic(kind, subject)
    draft.gist = _gist(kind, tokens, speaker, listener, agreeing, references)
    if entity is not None:
        draft.about = entity[1]
        if entity[0].i in references:
            # The words with the pronoun kept, for when the fact joins the one it leans on.
            kept = _without(references, entity[0])
            draft.leaning = rewrite(tokens, speaker, listener, agreeing, kept)
    return draft


# What a name stands for in a gist: "moved to Grenoble" and "moved to a city" mean the
# same change, and the embedding sees the meaning only without the name. The small
# model's entity types mix up towns and companies, so the preposition before a name says
# which it is.
_GENERIC_AFTER = {"in": "a city", "to": "a city", "from": "a city", "at": "a company"}
_KEPT_ENTITIES = frozenset({"DATE", "TIME", "NORP", "LANGUAGE"})


def _gist(
    kind: Kind,
    tokens: list[Token],
    speaker: Party,
    listener: Party,
    agreeing: set[int],
    references: dict[int, str],
) -> str | None:
    """The fact about "the user" with its names made generic, when it is the speaker's."""
    if kind not in (Kind.SELF, Kind.RELATED):
        return None
    gist = rewrite(tokens, speaker, listener, agreeing, {**references, **_generic(tokens)})
    return gist.replace(speaker.label, "the user")


def _generic(tokens: list[Token]) -> dict[int, str]:
    """Each name among the tokens as a generic phrase, the rest of a multi-word name
    dropped (a lone space collapses in the wording)."""
    generic: dict[int, str] = {}
    for token in tokens:
        if token.pos_ != "PROPN" or (label := entity_label(token)) in _KEPT_ENTITIES:
            continue
        previous = token.doc[token.i - 1] if token.i > 0 else None
        if previous is not None and previous.i in generic:
            generic[token.i] = " "
        else:
            after = token.head.lower_ if token.dep_ == "pobj" else ""
            fallback = "someone" if label == "PERSON" else "something"
            generic[token.i] = _GENERIC_AFTER.get(after, fallback)
    return generic


def _subject_entity(root: Token, clause: Clause, refs: References) -> tuple[Token, Entity] | None:
    """The clause's subject when it is an entity the conversation tracks (not a speaker)."""
    subjects = [c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")]
    subject = subjects[0] if subjects else clause.shared_subject
    if subject is None or subject.lower_ in ("i", "we", "you", "u", "ya"):
        return None
    if any(c.lower_ in ("i", "we") for c in subject.conjuncts):
        return None  # "Hugo and I moved": the speaker's fact
    if any(c.lower_ in ("my", "our", "your") for c in subject.children):
        return None  # the speaker's own: read as ever ("My sister lives in Lyon")
    definite = any(c.lower_ in ("the", "this", "that") for c in subject.children)
    entity = refs.entities.get(subject.i)
    known_name = subject.pos_ == "PROPN" and subject.i not in refs.fresh
    if entity is None or not (subject.pos_ == "PRON" or known_name or definite):
        return None  # "A day trip to Sintra is a must" is about no one tracked
    return subject, entity


def _entity_kind(entity: Entity, speaker: Party) -> Kind:
    """A fact about the speaker's own people, animals and things (their son's party
    included) is theirs to tell; one about anyone or anything else is what they said."""
    current: Entity | None = entity
    for _ in range(4):  # an owner's owner's ...: "Hannah's son's party"
        if current is None:
            break
        animal = current.noun in ANIMALS and current.introduced_by is speaker
        if current.owner is speaker or animal:
            return Kind.RELATED
        current = current.owner if isinstance(current.owner, Entity) else None
    return Kind.REPORTED if speaker.is_person else Kind.TOLD


def _without(references: dict[int, str], token: Token) -> dict[int, str]:
    return {i: text for i, text in references.items() if i != token.i}


def _worded(
    kind: Kind,
    subject: Token | None,
    root: Token,
    tokens: list[Token],
    speaker: Party,
    listener: Party,
    names: NameIndex,
    agreeing: set[int],
    references: dict[int, str],
) -> tuple[str, str | None] | None:
    """The clause as a third-person sentence, and who it is about."""
    rewritten = rewrite(tokens, speaker, listener, agreeing, references)
    subject_key = speaker.key
    if kind is Kind.RECOMMENDATION and listener.is_assistant:
        return request(root, tokens, speaker, listener), speaker.key
    if kind is Kind.RECOMMENDATION:
        text = recommendation(root, tokens, speaker, listener)
        if text is None:
            return None
        return text, listener.key
    if kind is Kind.FRAGMENT:
        return complete_fragment(tokens, rewritten, speaker), subject_key
    if kind is Kind.TOLD:
        return f"{speaker.label} told {listener.label} that {rewritten}", listener.key
    if kind is Kind.REPORTED:
        if subject is not None and subject.pos_ == "PROPN" and entity_label(subject) == "PERSON":
            party = names.party(subject.text)
            subject_key = party.key if party is not None else subject.text
        return f"{speaker.label} said that {rewritten}", subject_key
    text = rewritten
    if _opens_without_subject(tokens[0]):
        text = f"{speaker.label} {text}"  # "Lost my job yesterday, so I'm ..."
    if kind is Kind.RELATED and subject is not None and subject.lemma_ in RELATION_NOUNS:
        subject_key = f"{speaker.key}'s {subject.lower_}"
    return text, subject_key


def _strip_edges(tokens: list[Token], names: NameIndex) -> list[Token]:
    """Drop greetings, interjections and names in direct address around the clause."""
    start = 0
    while start < len(tokens):
        token = tokens[start]
        lowered = token.lower_
        following = tokens[start + 1] if start + 1 < len(tokens) else None
        followed_by_break = (
            following is None
            or following.is_punct
            or (following.pos_ == "PROPN" and names.is_vocative(following.text))
        )
        if (
            token.is_punct
            or token.is_space
            or token.pos_ == "INTJ"
            or (
                lowered in _DISCOURSE
                and (followed_by_break or token.dep_ in ("cc", "intj", "advmod", "mark"))
            )
            or (token.pos_ == "PROPN" and followed_by_break and names.is_vocative(token.text))
        ):
            start += 1
        elif [t.lower_ for t in tokens[start : start + 3]] == ["by", "the", "way"]:
            start += 3
        else:
            break
    end = len(tokens)
    while end > start and (tokens[end - 1].is_punct or tokens[end - 1].is_space):
        end -= 1
    if end - start >= 2 and names.is_vocative(tokens[end - 1].text) and tokens[end - 2].text == ",":
        end -= 2
    return _without_loose_phrases(tokens[start:end])


def _without_loose_phrases(tokens: list[Token]) -> list[Token]:
    """Drop a verbless phrase set off by a comma before the statement ("Big news from my
    side, I'm transferring ...") or after it ("I hate crowds, so maybe not the market")."""
    commas = [at for at, token in enumerate(tokens) if token.text == ","]
    if not commas:
        return tokens
    first, last = commas[0], commas[-1]
    if not _has_verb(tokens[:first]) and _has_verb(tokens[first + 1 :]):
        root = next((t for t in tokens if t.dep_ == "ROOT"), None)
        if root is None or root.i > tokens[first].i:
            tokens = tokens[first + 1 :]
            last -= first + 1
    tail = tokens[last + 1 :] if last >= 0 else []
    if tail and tail[0].lower_ in ("so", "but", "and") and not _has_verb(tail):
        tokens = tokens[:last]
    return tokens


def _has_verb(tokens: list[Token]) -> bool:
    return any(t.pos_ in ("VERB", "AUX") for t in tokens)


def _opens_without_subject(first: Token) -> bool:
    return (
        first.tag_ == "VBD" and first.dep_ in ("ROOT", "advcl", "ccomp") and not has_subject(first)
    )
