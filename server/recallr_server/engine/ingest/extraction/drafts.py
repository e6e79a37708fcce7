"""One clause into a draft fact, or nothing when it is not worth keeping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.attributes import attribute_of
from recallr_server.engine.ingest.extraction.categories import clause_categories
from recallr_server.engine.ingest.extraction.clauses import Clause, has_subject
from recallr_server.engine.ingest.extraction.content import has_content
from recallr_server.engine.ingest.extraction.kinds import Kind, classify
from recallr_server.engine.ingest.extraction.parties import NameIndex, Party
from recallr_server.engine.ingest.extraction.pipeline import entity_label
from recallr_server.engine.ingest.extraction.statements import read_statement
from recallr_server.engine.ingest.extraction.vocabulary import RELATION_NOUNS
from recallr_server.engine.ingest.extraction.wording import (
    complete_fragment,
    recommendation,
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


def draft_of(clause: Clause, speaker: Party, listener: Party, names: NameIndex) -> Draft | None:
    tokens = _strip_edges(clause.tokens, names)
    if not tokens or tokens[0].lower_ == "let":
        return None  # "let's ..." proposes, it does not state
    root = clause.root
    if root not in tokens:
        return None
    statement = read_statement(tokens)
    classified = (
        (statement.kind, statement.subject)
        if statement is not None
        else classify(root, tokens, speaker, listener, clause.shared_subject)
    )
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
        return None
    agreeing = {statement.finite.i} if statement is not None and statement.finite else set()
    rewritten = rewrite(tokens, speaker, listener, agreeing)
    subject_key = speaker.key
    if kind is Kind.RECOMMENDATION:
        text = recommendation(root, tokens, speaker, listener)
        if text is None:
            return None
        subject_key = listener.key
    elif kind is Kind.FRAGMENT:
        text = complete_fragment(tokens, rewritten, speaker)
    elif kind is Kind.TOLD:
        text = f"{speaker.label} told {listener.label} that {rewritten}"
        subject_key = listener.key
    elif kind is Kind.REPORTED:
        text = f"{speaker.label} said that {rewritten}"
        if subject is not None and subject.pos_ == "PROPN" and entity_label(subject) == "PERSON":
            party = names.party(subject.text)
            subject_key = party.key if party is not None else subject.text
    else:
        text = rewritten
        if _opens_without_subject(tokens[0]):
            text = f"{speaker.label} {text}"  # "Lost my job yesterday, so I'm ..."
        if kind is Kind.RELATED and subject is not None and subject.lemma_ in RELATION_NOUNS:
            subject_key = f"{speaker.key}'s {subject.lower_}"
    found = clause_categories(tokens, kind, attribute, statement)
    return Draft(kind, text, subject_key, attribute, found)


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
    return tokens[start:end]


def _opens_without_subject(first: Token) -> bool:
    return (
        first.tag_ == "VBD" and first.dep_ in ("ROOT", "advcl", "ccomp") and not has_subject(first)
    )
