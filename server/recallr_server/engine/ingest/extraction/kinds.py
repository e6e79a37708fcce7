"""What a clause is about: the speaker, their relative, advice to the listener, a report."""

from __future__ import annotations

from enum import Enum, auto
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.content import addresses_listener, leans_on_context
from recallr_server.engine.ingest.extraction.parties import Party
from recallr_server.engine.ingest.extraction.vocabulary import (
    DEPENDENT_SUBJECTS,
    FIRST_PERSON,
    RECOMMEND_LEMMAS,
)

if TYPE_CHECKING:
    from spacy.tokens import Token


class Kind(Enum):
    SELF = auto()  # the speaker is the subject: "I moved to Berlin"
    RELATED = auto()  # the subject is the speaker's: "My sister lives in Lyon"
    INVOLVED = auto()  # the speaker appears elsewhere: "The group made me feel accepted"
    FRAGMENT = auto()  # the subject "I" is left out: "Researching adoption agencies"
    RECOMMENDATION = auto()  # "You should try X", "Try X", "I recommend X"
    TOLD = auto()  # the AI assistant tells the user something about them or the world
    REPORTED = auto()  # a third-party statement worth keeping: "The museum opens in June"
    CONTINUATION = auto()  # depends on the sentence before: "It was really rewarding"


_ADVICE_MODALS = frozenset({"should", "could", "might", "must", "may"})
# Imperatives that are conversation management, not advice.
_SMALL_TALK_IMPERATIVES = frozenset(
    {"let", "guess", "see", "look", "tell", "imagine", "thank", "keep", "hang", "take", "stay"}
    | {"have", "enjoy", "check", "be", "get", "hold", "wait", "say", "talk", "go", "give", "come"}
    | {"hope", "wish", "congrats", "congratulate", "love", "miss", "feel", "remember"}
)

# Said of oneself, these verbs answer the other speaker rather than state a fact.
_REPLY_VERBS = frozenset({"agree", "thank", "appreciate", "bet", "guess", "wish", "mean"})


def classify(
    root: Token,
    tokens: list[Token],
    speaker: Party,
    listener: Party,
    shared_subject: Token | None,
) -> tuple[Kind, Token | None] | None:
    subjects = [child for child in root.children if child.dep_ in ("nsubj", "nsubjpass", "csubj")]
    subject = subjects[0] if subjects else shared_subject
    words = {token.lower_ for token in tokens}
    mentions_speaker = bool(words & FIRST_PERSON)  # reflexives are often generic: not here
    if subject is None:
        if root.tag_ == "VB" and root == tokens[0]:
            if root.lemma_ in _SMALL_TALK_IMPERATIVES:
                return None
            return _advice(listener, subject)
        if tokens[0].lower_ in ("gon", "gonna") or (
            tokens[0] == root and root.tag_ in ("VBG", "VBD", "VBN") and mentions_speaker
        ):
            return Kind.FRAGMENT, None
        return (Kind.CONTINUATION, None) if leans_on_context(tokens) else None
    lowered = subject.lower_
    if any(token.lower_ in ("i", "we") for token in (subject, *subject.conjuncts)):
        if root.lemma_ in RECOMMEND_LEMMAS:
            return _advice(listener, subject)
        return None if root.lemma_ in _REPLY_VERBS else (Kind.SELF, subject)
    if lowered in ("you", "u", "ya"):
        modals = {child.lower_ for child in root.children if child.dep_ == "aux"}
        if modals & _ADVICE_MODALS:
            return _advice(listener, subject)
        if not speaker.is_person:
            return Kind.TOLD, subject
        return None
    if any(child.lower_ in ("my", "our") for child in subject.children):
        return Kind.RELATED, subject
    if mentions_speaker and lowered not in DEPENDENT_SUBJECTS:
        return Kind.INVOLVED, subject
    if lowered in DEPENDENT_SUBJECTS or any(
        child.lower_ in DEPENDENT_SUBJECTS and child.dep_ == "det" for child in subject.children
    ):
        if mentions_speaker:
            return Kind.INVOLVED, subject
        return (Kind.CONTINUATION, subject) if leans_on_context(tokens) else None
    if not speaker.is_person:
        return Kind.TOLD, subject
    if addresses_listener(tokens):
        return None  # a remark on the other person's news ("your painting looks great")
    return Kind.REPORTED, subject


def _advice(listener: Party, subject: Token | None) -> tuple[Kind, Token | None] | None:
    if not listener.is_assistant:
        return (Kind.RECOMMENDATION, subject) if listener.is_person else None
    # To the assistant, "you should correct only the big mistakes" says how the user wants
    # it to work (worded as a request); a bare imperative is read by `requests`, which
    # keeps only the lasting ones.
    return (Kind.RECOMMENDATION, subject) if subject is not None else None
